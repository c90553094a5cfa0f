# A container image of goated: one static binary on an empty base.
#
#   docker build -t goated .
#   docker run -d --name goated -p 8080:8080 -v goated-data:/data \
#     -e GOATED_UPSTREAM__REFERRAL_CODE=... -e GOATED_UPSTREAM__TOKEN=... goated
#
# The binary is linked statically against glibc (`crt-static`): bundled SQLite, rustls
# with built-in root certificates (webpki-roots), no shared library, no CA bundle and
# no shell needed at run time. DNS works without NSS modules (glibc ≥ 2.33 builds its
# files/dns lookups into libc). The same build command, run on a 2-core machine, gives
# a ~23 MB static-pie binary.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target x86_64-unknown-linux-gnu --bin goated \
 && cp target/x86_64-unknown-linux-gnu/release/goated /goated \
 && mkdir /data-empty

FROM scratch
COPY --from=build /goated /goated
# The database (and its backups/) lives in the volume, owned by the unprivileged user.
COPY --from=build --chown=65532:65532 /data-empty /data
USER 65532:65532
ENV GOATED_SERVER__BIND=0.0.0.0:8080 \
    GOATED_DATABASE__PATH=/data/goated.db
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD ["/goated", "healthcheck"]
ENTRYPOINT ["/goated"]
CMD ["serve"]
