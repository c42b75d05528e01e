"""Check functions for the deployment files. Each returns a list of problems (empty when the
file is right), so the tests can run them on the committed files and on deliberately broken
copies alike."""
