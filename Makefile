# pilot — one make interface. Everything that touches the network needs root.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Debian packages the project runs against for real (tests, demo, bench).
APT_PACKAGES := etcd-server etcd-client iptables iproute2 conntrack dnsutils iperf3 \
	busybox-static openssl docker.io docker-registry catatonit iputils-ping curl procps psmisc netcat-openbsd \
	haproxy knot dnsperf systemd vagrant unzip
JEST := node --experimental-vm-modules node_modules/jest/bin/jest.js
# promtool checks deploy/prometheus; taken out of Debian's prometheus package
# without installing it (its postinst would start a Prometheus server).
PROMTOOL := node_modules/.cache/pilot/promtool

.PHONY: help setup system-deps node-version build build-packages install uninstall dist check-imports test test-unit test-e2e bench demo demo-down soak clean clean-netns

# make install / make dist: the layout is scripts/install.mjs's (README: "Install on a host").
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := $(shell node -p 'require("./package.json").version' 2>/dev/null)
DIST := dist/pilot-$(VERSION)-linux-$(shell node -p process.arch 2>/dev/null).tar.gz

help:
	@echo "make demo   - build a 3-host network-namespace cluster, show it working, leave it up (root)"
	@echo "make demo-down - stop the demo cluster and check nothing of it is left"
	@echo "make test   - install what is needed, then unit + e2e tests (root)"
	@echo "make bench  - benchmarks, each beside its anchor measured in the same run (root)"
	@echo "make soak   - the failure story three times in a row (root)"
	@echo "make setup  - only install dependencies and build"
	@echo "make install [DESTDIR=] [PREFIX=/usr/local] - the built daemons, pilot and the systemd units, runnable without this checkout"
	@echo "make uninstall [DESTDIR=] [PREFIX=]          - removes exactly what make install put there"
	@echo "make dist   - $(DIST): the same tree with its own Node, for hosts without Node 20 or npm"

setup: node-version system-deps node_modules/.pilot-installed $(PROMTOOL) build

# The one Node pilot runs on (Debian 12's own nodejs is 18).
node-version:
	@command -v node >/dev/null || { echo "no node on PATH: pilot needs Node.js 20 or newer (Debian 12's nodejs package is 18; install Node 20+ first)"; exit 1; }
	@node -e 'if (+process.versions.node.split(".")[0] < 20) { console.error(`Node.js $${process.version} ($${process.execPath}) is too old: pilot needs Node.js 20 or newer (Debian 12 ships 18); install Node 20+, or on hosts that only run pilot use the make dist bundle, which carries its own Node`); process.exit(1); }'

# Installs only what is missing, so a second run is quick and offline-safe.
system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "setup: installing $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@sh scripts/setup-kubectl.sh
	@modprobe br_netfilter 2>/dev/null || true
	@test -e /proc/sys/net/bridge/bridge-nf-call-iptables || { echo "setup: br_netfilter is not available in this kernel"; exit 1; }

$(PROMTOOL): node_modules/.pilot-installed
	@d=$$(mktemp -d) && cd $$d && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get download prometheus >/dev/null 2>&1; }; } \
		&& dpkg-deb -x prometheus_*.deb x && install -D -m 0755 x/usr/bin/promtool $(CURDIR)/$@ && cd / && rm -rf $$d \
		|| { echo "setup: could not get promtool from Debian's prometheus package"; rm -rf $$d; exit 1; }
	@$@ --version | head -1

node_modules/.pilot-installed: package-lock.json
	npm ci --no-fund --no-audit --loglevel=error
	@touch $@

# Stamps the build (version + git commit for --version and *_build_info),
# builds the packages, then type-checks what only jest/tsx run (tests, bench, demo).
build: build-packages
	npx tsc -p tsconfig.check.json

# The packages alone. Incremental: with nothing changed it writes nothing, so
# make install (which needs only this) never disturbs a test run using dist/.
build-packages: node_modules/.pilot-installed
	node packages/common/scripts/stamp-build-info.mjs
	npx tsc -b

install: node-version build-packages
	node scripts/install.mjs --root "$(or $(DESTDIR),/)" --prefix "$(PREFIX)"

uninstall:
	@test -x "$(DESTDIR)$(PREFIX)/lib/pilot/uninstall" || { echo "uninstall: nothing installed under $(DESTDIR)$(PREFIX) ($(DESTDIR)$(PREFIX)/lib/pilot/uninstall is missing)"; exit 1; }
	"$(DESTDIR)$(PREFIX)/lib/pilot/uninstall"

# One tarball: extract it at / on any x86-64 Debian 12 host (tar -C / -xzf ...).
dist: node-version build-packages
	@rm -rf dist/stage && mkdir -p dist
	node scripts/install.mjs --root dist/stage --prefix "$(PREFIX)" --bundle-node --generic-dirs
	tar -C dist/stage --owner=0 --group=0 --numeric-owner -czf $(DIST).tmp etc $(patsubst /%,%,$(PREFIX)) && mv $(DIST).tmp $(DIST)
	@rm -rf dist/stage
	@echo "dist: $(DIST) ($$(du -h $(DIST) | cut -f1))"

RESULTS := .test-results

# Each package declares exactly what its src/ imports; no import cycle among
# the sources (type-only and lazy imports count). See scripts/check-imports.mjs.
check-imports: node_modules/.pilot-installed
	node scripts/check-imports.mjs

test: setup check-imports
	@mkdir -p $(RESULTS)
	$(JEST) --selectProjects unit --json --outputFile=$(RESULTS)/unit.json
	$(JEST) --selectProjects e2e --runInBand --json --outputFile=$(RESULTS)/e2e.json
	@node test/summary.mjs $(RESULTS)/unit.json $(RESULTS)/e2e.json

# The unit suite runs the built bins too (packages/orchestrator-core/test/bins.test.ts).
test-unit: build $(PROMTOOL)
	$(JEST) --selectProjects unit

test-e2e: setup
	$(JEST) --selectProjects e2e --runInBand

# Every bench/*/main.ts (or only BENCHES="dnsd scheduler") into a fresh
# .bench-results/<UTC time>/; a failing bench does not stop the others, it shows
# as FAILED in the closing table (bench/summary.ts) and make exits non-zero.
BENCHES ?= $(patsubst bench/%/main.ts,%,$(wildcard bench/*/main.ts))
bench: setup
	@dir=$(CURDIR)/.bench-results/$$(date -u +%Y%m%dT%H%M%SZ); mkdir -p $$dir; start=$$(date +%s); \
	for name in $(BENCHES); do \
		echo "== bench/$$name/main.ts"; \
		BENCH_RESULTS=$$dir node_modules/.bin/tsx bench/$$name/main.ts; code=$$?; \
		node_modules/.bin/tsx bench/summary.ts --exit $$dir $$name $$code; \
	done; \
	node_modules/.bin/tsx bench/summary.ts $$dir; rc=$$?; \
	echo "bench: $$(( $$(date +%s) - start )) s in all; rows in $$dir/rows.jsonl"; exit $$rc

# The failure story (test/netns/seed/failure.e2e.test.ts) three times in a row; the first failure stops it.
soak: setup
	@for i in 1 2 3; do echo "== soak run $$i of 3"; $(JEST) --selectProjects e2e --runInBand test/netns/seed/failure.e2e.test.ts || exit 1; done

# The cluster stays up afterwards, owned by a detached process (demo/owner.ts)
# that holds the run's lock; /run/pilot-demo.json points to it.
demo: setup
	node_modules/.bin/tsx demo/main.ts

# Stops the demo's owner, which removes its cluster, then checks nothing is left.
demo-down:
	node_modules/.bin/tsx demo/down.ts

# Removes leftovers of crashed test runs (only runs whose lock is free).
clean-netns: build
	node_modules/.bin/tsx test/netns/src/cli.ts cleanup

clean:
	npx tsc -b --clean
