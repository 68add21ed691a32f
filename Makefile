# virtnet — the two commands a fresh machine needs:
#   make demo   set up .venv and render the bundled passt + macvlan example
#   make test   set up .venv, run every check and every test; the cluster tests build the test
#               control plane (kube-apiserver + etcd, hack/envtest/build.sh) on first use
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test setup lint typecheck layers docs-check schemas schemas-check unit envtest clean bench-cluster \
	bench bench-smoke

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/virtnet render examples/passt-macvlan-spiderpool.yaml

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

docs-check: $(STAMP)
	$(BIN)/python -m virtnet.cli.gendocs --check

envtest:
	bash hack/envtest/build.sh

# The upstream CRD schemas shipped in src/virtnet/schemas/data/, from the envtest CRD sets (builds them if needed)
schemas: $(STAMP)
	$(BIN)/python hack/schemas/generate.py

# CI: the shipped schemas are exactly what the generator makes (reuses the envtest cache the cluster tests build)
schemas-check: $(STAMP)
	$(BIN)/python hack/schemas/generate.py --check

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck layers docs-check schemas-check unit bench-smoke

# virtnet lint vs kubeconform -strict on 100 / 1,000 / 10,000 VMs (docs/benchmarks.md); builds kubeconform once
bench: $(STAMP)
	$(BIN)/python bench/lint_vs_kubeconform.py --sizes 100 1000 10000 --runs 3

# CI: the 100-VM corpus once, finding parity with kubeconform only (no timing)
bench-smoke: $(STAMP)
	$(BIN)/python bench/lint_vs_kubeconform.py --smoke

# lint --cluster vs kubectl get on an envtest API server with 5,000 VMs (docs/benchmarks.md); builds kubectl once
bench-cluster: $(STAMP)
	$(BIN)/python bench/lint_cluster.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
