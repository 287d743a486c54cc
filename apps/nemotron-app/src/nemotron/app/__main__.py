"""`python -m nemotron.app`: the `nemotron` command."""

from nemotron.app import main

if __name__ == "__main__":
    main()
