# AuthzService sidecar image: build on Debian 12 with the same packages as
# tools/dev, then run the stripped binary alone on debian:bookworm-slim as
# an unprivileged user. Build from the repository root:
#
#   docker build -f deploy/images/authz_service.Dockerfile -t warden/authz-service .
#
# tests/e2e/deploy_manifests_test.py checks this file: the runtime packages
# below must provide every shared library that `ldd` lists for the binary.

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc \
      librocksdb-dev libspdlog-dev libabsl-dev libssl-dev \
      libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev \
      libcpp-httplib-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build --target authz_service \
 && install -D -s /build/services/authz_service/authz_service \
      /out/authz_service

FROM debian:bookworm-slim
# Only the shared libraries the binary loads (ldd + dpkg -S). The sidecar
# never links RocksDB.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libabsl20220623 libbrotli1 libc-ares2 libc6 libcpp-httplib0.11 \
      libfmt9 libgcc-s1 libgrpc++1.51 libgrpc29 libprotobuf32 libre2-9 \
      libspdlog1.10 libssl3 libstdc++6 zlib1g \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 warden \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent \
      --no-create-home --shell /usr/sbin/nologin warden
COPY --from=build /out/authz_service /usr/local/bin/authz_service
USER 10001:10001
EXPOSE 50061
ENTRYPOINT ["/usr/local/bin/authz_service"]
