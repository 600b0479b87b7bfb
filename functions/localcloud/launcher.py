"""Start moto's server with the fix for getmoto/moto#10077 and two speed-ups.

moto <= 5.2.1 deep-copies a state machine on every StartExecution, including its list of
executions, whose running threads hold an RLock that cannot be copied: the second
StartExecution of a machine fails. A clone never needs the executions, so the copy
starts with an empty list (the upstream fix, getmoto/moto#10093, does the same).

Speed: parse results are cached (`_parse_once`); LOCALCLOUD_PROFILE=file writes a
cProfile of every thread when moto stops (docs/performance.md, "Local cloud overhead").
"""

import copy
import sys

try:
    from moto.server import main
    from moto.stepfunctions.models import StateMachine
except ImportError as err:  # the local cloud reports "moto not available" on this code
    print(err, file=sys.stderr)
    sys.exit(3)


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


# --- speed (performance work): parse once, not on every state ---


def _parse_once():
    """moto's Step Functions interpreter re-parses on every use what never changes: each
    JSONPath (jsonpath_ng generates a whole LALR table per parse, 0.1-0.5 s on this
    machine, several times per state) and each definition (ANTLR, once per execution).
    Both parses are pure functions of their text: one JSONPath parser is built once
    and its results cached, and the definition's parse tree is cached, while the
    evaluation components are still built afresh per execution from that tree."""
    import functools
    import threading

    from jsonpath_ng.ext.parser import ExtendedJsonPathParser
    from jsonpath_ng.parser import JsonPathParser
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.parse import asl_parser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
    from moto.stepfunctions.parser.asl.utils import json_path

    def shared(parser_class):
        parser, lock = parser_class(), threading.Lock()  # a PLY parser is not reentrant

        @functools.lru_cache(maxsize=4096)
        def parse(path):
            with lock:
                return parser.parse(path)

        return parse

    json_path.parse = shared(ExtendedJsonPathParser)
    result_path.parse = shared(JsonPathParser)

    parse = asl_parser.AmazonStateLanguageParser.parse
    trees, lock = {}, threading.Lock()

    def parse_cached(definition):
        with lock:
            tree = trees.get(definition)
        if tree is None:
            program, tree = parse(definition)  # raises on a syntax error: never cached
            with lock:
                if len(trees) >= 64:
                    trees.clear()
                trees[definition] = tree
            return program, tree
        return Preprocessor().visit(tree), tree

    asl_parser.AmazonStateLanguageParser.parse = staticmethod(parse_cached)


_parse_once()

# --- profiling (performance work): LOCALCLOUD_PROFILE=file profiles every thread ---


def _profile_all_threads(path):
    """Profile every thread (moto serves each request and runs each execution in its
    own) and write the merged pstats to path when the local cloud stops moto."""
    import atexit
    import cProfile
    import pstats
    import threading

    merged, lock = [], threading.Lock()
    run = threading.Thread.run

    def profiled_run(self):
        p = cProfile.Profile()
        try:
            p.runcall(run, self)
        finally:
            with lock:
                if merged:
                    merged[0].add(p)
                else:
                    merged.append(pstats.Stats(p))

    def dump():
        with lock:
            if merged:
                merged[0].dump_stats(path)

    threading.Thread.run = profiled_run
    atexit.register(dump)  # moto's SIGTERM handler exits through sys.exit


if __name__ == "__main__":
    import os

    if os.environ.get("LOCALCLOUD_PROFILE"):
        _profile_all_threads(os.environ["LOCALCLOUD_PROFILE"])
    main(sys.argv[1:])
