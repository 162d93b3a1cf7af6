"""``python -m opauc_sim`` is the same as the ``opauc-sim`` console script."""

from opauc_sim.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
