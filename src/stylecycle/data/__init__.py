"""Image files in, tensors out: decoding, preprocessing, datasets and the bundled demo data."""
