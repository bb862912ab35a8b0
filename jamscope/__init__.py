"""jamscope: the physics of deep-learning loss landscapes, in JAX.

``import jamscope as js``: the library's modules are `js.nets`, `js.losses`, `js.data`, `js.train`,
`js.end_state`, `js.ensemble`, `js.curvature`, `js.ntk`, `js.regression`, `js.jamming`, `js.regimes`,
`js.diffeo`, `js.stability`, `js.kernels`, `js.teacher_student`, `js.learning_curves`, `js.aging`,
`js.pomdp`, `js.fits`, `js.io` and `js.typing`; the most used names are re-exported flat (`js.FCNet`,
`js.QuadraticHinge`, …). The experiments of the papers live in `jamscope.experiments` (one module
each, with the `Experiment` base, the runner `run` and `reproduce`), imported by the ``jamscope``
command and by whoever asks for them: importing the library loads neither them nor matplotlib.
"""

from . import (
    aging,
    curvature,
    data,
    diffeo,
    end_state,
    ensemble,
    fits,
    io,
    jamming,
    kernels,
    learning_curves,
    losses,
    nets,
    ntk,
    pomdp,
    regimes,
    regression,
    stability,
    teacher_student,
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
    "aging", "curvature", "data", "diffeo", "end_state", "ensemble", "fits", "io", "jamming", "kernels",
    "learning_curves", "losses", "nets", "ntk", "pomdp", "regimes", "regression", "stability",
    "teacher_student", "train", "typing", "MaxEntDiffeo", "deform",
    "Dataset", "FCNet", "MLP", "SmallCNN", "Centered",
    "QuadraticHinge", "LinearHinge", "SoftHinge", "CrossEntropy", "MSE", "MultiClassHinge",
    "SoftmaxCrossEntropy", "Adam", "SGD", "GradientFlow", "History",
]  # fmt: skip
__version__ = "0.1.0"
