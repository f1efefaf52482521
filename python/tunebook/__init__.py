"""tunebook's Python side: a pure-torch Llama, its tokenizer, pretraining and GGUF export.

Only Debian's python3-torch, python3-numpy and python3-sentencepiece are needed here;
transformers and peft are optional (used on GPU machines when present).
"""

import os as _os

# Debian's torch calls the system BLAS (libblas.so.3). scripts/setup.sh installs OpenBLAS for it
# (the reference BLAS is ~18x slower on these matrix sizes); OpenBLAS's own threads on top of
# torch's OpenMP threads oversubscribe the cores (measured 2.6x slower on 2 cores), so torch's
# threads do the parallel work and OpenBLAS runs one per call. Set before torch is imported.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
