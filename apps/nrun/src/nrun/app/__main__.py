"""`python -m nrun.app`: the `nrun` command."""

from nrun.app import main

if __name__ == "__main__":
    main()
