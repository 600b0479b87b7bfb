"""Start moto's server with the fix for getmoto/moto#10077.

moto <= 5.2.1 deep-copies a state machine on every StartExecution, including its list of
executions, whose running threads hold an RLock that cannot be copied: the second
StartExecution of a machine fails. A clone never needs the executions, so the copy
starts with an empty list (the upstream fix, getmoto/moto#10093, does the same).
"""

import copy
import sys

from moto.server import main
from moto.stepfunctions.models import StateMachine


def _deepcopy_without_executions(self, memo):
    clone = self.__class__.__new__(self.__class__)
    memo[id(self)] = clone
    for name, value in self.__dict__.items():
        if name == "executions":
            value = []
        elif name != "backend":  # the backend is shared, never copied
            value = copy.deepcopy(value, memo)
        setattr(clone, name, value)
    return clone


StateMachine.__deepcopy__ = _deepcopy_without_executions

if __name__ == "__main__":
    main(sys.argv[1:])
