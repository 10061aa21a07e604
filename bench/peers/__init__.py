"""Peer order books for bench/compare.py, one module each; protocol in README.md."""
