"""Memory and the landscape of policy learning in the two-hypothesis POMDP (thesis ch. 7): the exact
column of confidence policy against eq. 7 with the policies learned from it (Fig. 2), gradient flow
on G from every initialization of Fig. 4 (RAM and Memento memories), and the Hessian of −G at the end
of every run.

python examples/pomdp.py                     # the quick defaults, about 10 minutes on 2 cores
python examples/pomdp.py --smoke             # seconds, for the test suite
python examples/pomdp.py --seeds 20          # the paper's number of seeds per start
python examples/pomdp.py --paper             # Fig. 2 to r = 2⁻²⁰ and Fig. 4 A–F, 10⁶ steps per run

Every option of `jamscope pomdp` is accepted (`--help`); a killed run resumes from --out/pomdp/.
"""

import sys

from jamscope import cli

if __name__ == "__main__":
    sys.exit(cli.example_main("pomdp"))
