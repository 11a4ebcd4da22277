# The `meterlab` binary in a slim image, for CI jobs that test a decoder with it (docs/ci.md).
#
#   docker build -t meterlab .
#   docker run --rm -v "$PWD:/work" -w /work meterlab meterlab run --decoder ./decoder --junit junit.xml
#
# Stage 1 builds the binary with the locked dependencies; stage 2 is Debian slim with the binary
# alone (glibc is all it needs). The image runs as root so a CI job can add its decoder's build
# tools with apt-get.

FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
COPY decoder decoder
COPY sim sim
COPY harness harness
COPY xtask xtask
# Scenarios and golden files: the suite the binary runs (and, where built in, embeds).
COPY scenarios scenarios
COPY golden golden
# No debug info in the image's binary (the workspace's release profile keeps line tables).
ENV CARGO_PROFILE_RELEASE_DEBUG=0
RUN cargo build --release --locked -p meterlab-harness --bin meterlab \
    && strip target/release/meterlab

FROM debian:bookworm-slim
COPY --from=build /src/target/release/meterlab /usr/local/bin/meterlab
# The scenario suite for `meterlab run /usr/share/meterlab/scenarios` (a meterlab without a
# built-in suite needs a path).
COPY --from=build /src/scenarios /usr/share/meterlab/scenarios
RUN meterlab --version
CMD ["meterlab", "--help"]
