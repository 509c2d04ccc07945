import sys

from rnn_models.cli import main

sys.exit(main())
