"""reglab: regularization you can run, measure and see.

Importing :mod:`reglab` gives the NumPy-side API only; the deep-learning half lives in
:mod:`reglab.torch` and is imported explicitly (``import reglab.torch``), so a
scikit-learn user never pays for torch.
"""

from reglab.stopping import EarlyStopping
from reglab.taxonomy import Kind, catalog

__version__ = "0.2.0"

__all__ = ["EarlyStopping", "Kind", "catalog", "__version__"]
