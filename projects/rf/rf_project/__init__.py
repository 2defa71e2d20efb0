"""Random-forest classifier project: train and evaluate on scikit-learn's breast-cancer data."""
