"""jamscope: the physics of deep-learning loss landscapes, in JAX.

``import jamscope as js``: the modules are `js.nets`, `js.losses`, `js.data`, `js.train`,
`js.end_state`, `js.jamming`, `js.curvature`, `js.ntk`, `js.regression`, `js.regimes`, `js.diffeo`,
`js.stability`, `js.diffeo_sweep`, `js.aging`, `js.ensemble`, `js.fits`, `js.io`; the experiments' modules
(`js.aging_sweep`, `js.kernel_sweep`, …) and `js.plot` are imported by name; the most used names
are re-exported flat (`js.FCNet`, `js.QuadraticHinge`, …).
"""

from . import (
    aging,
    curvature,
    data,
    diffeo,
    diffeo_sweep,
    end_state,
    ensemble,
    fits,
    io,
    jamming,
    losses,
    nets,
    ntk,
    regimes,
    regression,
    stability,
    train,
    typing,
)
from .data import Dataset
from .diffeo import MaxEntDiffeo, deform
from .losses import (
    MSE,
    CrossEntropy,
    LinearHinge,
    MultiClassHinge,
    QuadraticHinge,
    SoftHinge,
    SoftmaxCrossEntropy,
)
from .nets import MLP, Centered, FCNet, SmallCNN
from .train import SGD, Adam, GradientFlow, History

__all__ = [
    "aging", "curvature", "data", "diffeo", "diffeo_sweep", "end_state", "ensemble", "fits", "io", "jamming",
    "losses", "nets", "ntk",
    "regimes", "regression", "stability", "train", "typing", "MaxEntDiffeo", "deform",
    "Dataset", "FCNet", "MLP", "SmallCNN", "Centered",
    "QuadraticHinge", "LinearHinge", "SoftHinge", "CrossEntropy", "MSE", "MultiClassHinge",
    "SoftmaxCrossEntropy", "Adam", "SGD", "GradientFlow", "History",
]  # fmt: skip
__version__ = "0.1.0"
