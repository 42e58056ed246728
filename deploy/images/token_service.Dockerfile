# TokenService image: build on Debian 12 with the same packages as
# tools/dev, then run the stripped binary alone on debian:bookworm-slim as
# an unprivileged user. Build from the repository root:
#
#   docker build -f deploy/images/token_service.Dockerfile -t warden/token-service .
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
 && cmake --build /build --target token_service \
 && install -D -s /build/services/token_service/token_service \
      /out/token_service

FROM debian:bookworm-slim
# Only the shared libraries the binary loads (ldd + dpkg -S); RocksDB is
# linked statically, its compression libraries are not.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libabsl20220623 libbrotli1 libbz2-1.0 libc-ares2 libc6 \
      libcpp-httplib0.11 libfmt9 libgcc-s1 libgrpc++1.51 libgrpc29 liblz4-1 \
      libprotobuf32 libre2-9 libsnappy1v5 libspdlog1.10 libssl3 libstdc++6 \
      libzstd1 zlib1g \
 && rm -rf /var/lib/apt/lists/*
# A fixed numeric UID/GID, so Kubernetes' runAsNonRoot can verify it and
# volume ownership (fsGroup) matches.
RUN groupadd --system --gid 10001 warden \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent \
      --no-create-home --shell /usr/sbin/nologin warden \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/warden
COPY --from=build /out/token_service /usr/local/bin/token_service
USER 10001:10001
EXPOSE 50051
ENTRYPOINT ["/usr/local/bin/token_service"]
CMD ["--listen=0.0.0.0:50051", "--data-dir=/var/lib/warden"]
