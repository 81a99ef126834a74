"""Training: the loop, checkpoints, the image pool and the learning-rate schedule."""
