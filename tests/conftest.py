import os

# Quieter TensorFlow start-up in test logs; set before TensorFlow is first imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
