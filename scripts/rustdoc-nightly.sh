#!/bin/sh
# rustdoc with nightly features (docs.rs's `doc_cfg`, behind --cfg docsrs): .ci/run's doc
# step sets it as RUSTDOC, so that RUSTC_BOOTSTRAP reaches rustdoc alone. Set for cargo
# itself, RUSTC_BOOTSTRAP changes every crate's fingerprint, and the step would check all
# the dependencies again instead of reusing the clippy step's.
RUSTC_BOOTSTRAP=1 exec rustdoc "$@"
