# The netconverge image: built on Debian bookworm from the Debian -dev packages, run
# as a non-root user on bookworm-slim with only the runtime libraries. The chart mounts the
# store at /var/lib/netconverge and runs with a read-only root filesystem.
#   docker build -t netconverge:0.1.0 .
FROM debian:bookworm AS build
WORKDIR /src
# The build needs the -dev packages only (no npm, kubectl or helm: those serve the tests).
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential cmake ninja-build pkg-config libboost-dev libyaml-cpp-dev rapidjson-dev libssh-dev \
      libspdlog-dev libfmt-dev doctest-dev libsqlite3-dev zlib1g-dev libssl-dev prometheus-cpp-dev libexpected-dev \
      libcli11-dev libjemalloc-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build --target netconverge -j"$(nproc)"

FROM debian:bookworm-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libssh-4 libyaml-cpp0.7 libsqlite3-0 zlib1g libssl3 libspdlog1.10 libfmt9 libjemalloc2 ca-certificates netbase \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/netconverge && chown 65532:65532 /var/lib/netconverge
COPY --from=build /build/bin/netconverge /usr/local/bin/netconverge
USER 65532:65532
WORKDIR /var/lib/netconverge
ENTRYPOINT ["/usr/local/bin/netconverge"]
CMD ["run", "--kube", "--store=/var/lib/netconverge/netconverge.db"]
