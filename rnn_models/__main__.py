import sys

from rnn_models.commands import main

sys.exit(main())
