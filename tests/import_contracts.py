"""The import-linter contract type that import-linter does not ship: no import cycle between modules.

import-linter's acyclic_siblings looks at the siblings inside one package at a time. This one looks
at every module of the root packages together, so a cycle that runs across packages
(campaigns.services -> generation.dispatch -> ... -> campaigns.services) breaks it too. grimp's
graph holds every import statement of a module, those inside functions included.
Registered in pyproject.toml ([tool.importlinter] contract_types) and run by `lint-imports`.
"""

from collections import deque

import grimp
from importlinter import Contract, ContractCheck, output


class AcyclicModulesContract(Contract):
    type_name = "acyclic_modules"

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        cycles = [_one_cycle(graph, component) for component in _strongly_connected(graph) if len(component) > 1]
        return ContractCheck(kept=not cycles, metadata={"cycles": sorted(cycles)})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error(" -> ".join([*cycle, cycle[0]]))
            output.new_line()


def _strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's algorithm, written without recursion (a long import chain would exceed Python's stack)."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = lowlink[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, imported = work[-1]
            for target in imported:
                if target not in index:
                    index[target] = lowlink[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.find_modules_directly_imported_by(target)))))
                    break
                if target in on_stack:
                    lowlink[module] = min(lowlink[module], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    lowlink[parent] = min(lowlink[parent], lowlink[module])
                if lowlink[module] == index[module]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == module:
                            break
                    components.append(component)
    return components


def _one_cycle(graph: grimp.ImportGraph, component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module, to name in the report."""
    start = min(component)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        for target in sorted(graph.find_modules_directly_imported_by(module) & component):
            if target == start:
                path = [module]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return list(reversed(path))
            if target not in came_from:
                came_from[target] = module
                queue.append(target)
    return sorted(component)
