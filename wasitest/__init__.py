"""wasitest: build WASI test suites once, run every case on a matrix of runtimes."""

__version__ = "0.1.0"
