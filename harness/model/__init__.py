"""The agent model: an encoder and three heads, assembled from a design."""
