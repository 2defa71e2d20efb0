"""PyTorch MLP classifier project: scikit-learn's breast-cancer data, seeded and deterministic."""
