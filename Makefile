# The two commands, on a fresh Debian 12 machine:
#   sudo make run    install what is missing, build, run configs/hello.toml
#   sudo make test   install what is missing, build, run the unit and end-to-end tests
# Thin on purpose: the logic lives in scripts/ and rootfs/.

# CI (CI=true) builds with the "ci" preset: warnings are errors.
# REQUIRED_STACKS: the stacks `make test` must test here; a skip on one of them, or its
# service not starting, fails the run (scripts/test.sh). Empty: nothing required.
REQUIRED_STACKS ?= native docker gvisor qemu kubernetes
PRESET ?= $(if $(filter true,$(CI)),ci,default)
BUSYBOX_IMAGE := rootfs/build/busybox.tar.zst

.PHONY: all run test deps build rootfs bench clean

all: build

deps:
	scripts/install-deps.sh

# build needs the sample rootfs: the test image of tests/fixtures is made from it.
build: deps rootfs
	scripts/build.sh $(PRESET)

rootfs: deps $(BUSYBOX_IMAGE)

$(BUSYBOX_IMAGE): rootfs/build.sh scripts/pack-tree.sh /bin/busybox
	rootfs/build.sh

/bin/busybox:
	scripts/install-deps.sh

run: build
	./build/gatebox run configs/hello.toml

test: build
	GATEBOX_REQUIRED_STACKS="$(REQUIRED_STACKS)" scripts/test.sh

bench: build
	bench/native.sh

clean:
	rm -rf build rootfs/build
