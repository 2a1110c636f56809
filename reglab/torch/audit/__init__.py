"""``reglab.torch.audit``: find the regularization mistakes in a training set-up.

Two entry points:

- :func:`audit` checks a model and its optimizer (and, when given, the loss, the MixUp/CutMix
  object, the early-stopping object, the validation data) before training;
- :func:`watch` hooks a training loop and finds what only shows while it trains.

Both give :class:`Findings`: each with a stable code (``RA101``...), a severity, where it was
seen, the numbers, why it matters, the fix as code and the lab claim that measures its cost
(``reglab show <claim>``). ``reglab audit train.py -- ARGS`` runs a script under the watcher;
:func:`lightning_callback` gives a Lightning callback.
"""

from reglab.torch.audit._findings import CODES, SEVERITIES, Code, Finding, Findings
from reglab.torch.audit._static import audit
from reglab.torch.audit._watch import Watcher, watch

__all__ = [
    "CODES",
    "SEVERITIES",
    "Code",
    "Finding",
    "Findings",
    "Watcher",
    "audit",
    "lightning_callback",
    "watch",
]


def lightning_callback(**kwargs):
    """A Lightning callback that audits and watches ``trainer.fit`` (lightning is optional).

    ``Trainer(callbacks=[reglab.torch.audit.lightning_callback()])``; the findings are printed
    when fitting ends and kept on the callback's ``findings``. ``kwargs`` go to :class:`Watcher`.
    """
    from reglab.torch.audit._lightning import make_callback

    return make_callback(**kwargs)
