#!/bin/sh
# Render nginx.conf for one deployment: substitute exactly the ${REELVAULT_*} placeholders it
# holds, and no other `$` (Nginx's own variables stay as they are). The container and the tests
# (tests/deploy/) both render with this script.
#
#   render-nginx.sh [nginx.conf] > /etc/nginx/nginx.conf
#
# Every variable has the container's default; REELVAULT_MAX_UPLOAD_BYTES is the app's own
# setting, from which the request-body limit is derived. REELVAULT_UPSTREAM names one app or
# several replicas (`app1:8000,app2:8000`): one `server` line each in the upstream.
set -eu

template=${1:-$(dirname "$0")/../nginx.conf}

: "${REELVAULT_NGINX_LISTEN:=8080}"
: "${REELVAULT_UPSTREAM:=app:8000}"
: "${REELVAULT_WEB_ROOT:=/srv/reelvault/web}"
: "${REELVAULT_MEDIA_DIR:=/data/media}"
: "${REELVAULT_ACCEL_PREFIX:=/_protected_media/}"
: "${REELVAULT_MAX_UPLOAD_BYTES:=2147483648}"
: "${REELVAULT_NGINX_RUN_DIR:=/var/cache/nginx}"
: "${REELVAULT_NGINX_LOG_DIR:=/var/log/nginx}"
# Media in an object store, accel mode: Nginx's slice cache of the store's answers (on|off),
# its size on disk, and the DNS server that resolves the store's host name (Nginx resolves
# the presigned URLs' hosts itself): by default the first of /etc/resolv.conf, else Docker's.
: "${REELVAULT_NGINX_S3_CACHE:=off}"
: "${REELVAULT_NGINX_S3_CACHE_MAX_SIZE:=1g}"
# The CAs an https store's certificate is verified against (Debian's and Alpine's bundle).
: "${REELVAULT_NGINX_S3_CA:=/etc/ssl/certs/ca-certificates.crt}"
if [ -z "${REELVAULT_NGINX_RESOLVER:-}" ]; then
    REELVAULT_NGINX_RESOLVER=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf 2>/dev/null || true)
    case $REELVAULT_NGINX_RESOLVER in
    *:*) REELVAULT_NGINX_RESOLVER="[$REELVAULT_NGINX_RESOLVER]" ;; # IPv6
    esac
    : "${REELVAULT_NGINX_RESOLVER:=127.0.0.11}"
fi

# The app limits the file; the multipart body around it also carries the prompt and the part
# headers (the app accepts at most 8 parts of 64 KiB of fields): 1 MiB covers that envelope.
REELVAULT_NGINX_BODY_LIMIT=$((REELVAULT_MAX_UPLOAD_BYTES + 1048576))
REELVAULT_MEDIA_DIR=${REELVAULT_MEDIA_DIR%/}

# host:port (or [v6]:port) only: anything else could end the line and add directives.
REELVAULT_UPSTREAM_SERVERS=
set -f # the list is split on commas and blanks, never globbed
for server in $(printf '%s' "$REELVAULT_UPSTREAM" | tr ',' ' '); do
    case $server in
    *[!A-Za-z0-9.:_\[\]-]* | :* | *:)
        echo "render-nginx.sh: REELVAULT_UPSTREAM: not a host:port: $server" >&2
        exit 1
        ;;
    esac
    REELVAULT_UPSTREAM_SERVERS="${REELVAULT_UPSTREAM_SERVERS:+$REELVAULT_UPSTREAM_SERVERS
}        server $server;"
done
set +f
case $REELVAULT_NGINX_S3_CACHE in
on | off) ;;
*)
    echo "render-nginx.sh: REELVAULT_NGINX_S3_CACHE: on or off, not $REELVAULT_NGINX_S3_CACHE" >&2
    exit 1
    ;;
esac
case $REELVAULT_NGINX_S3_CACHE_MAX_SIZE in
*[!0-9kKmMgG]* | [!0-9]*)
    echo "render-nginx.sh: REELVAULT_NGINX_S3_CACHE_MAX_SIZE: a size like 10g" >&2
    exit 1
    ;;
esac
case $REELVAULT_NGINX_S3_CA in
*[!A-Za-z0-9._/-]* | [!/]*)
    echo "render-nginx.sh: REELVAULT_NGINX_S3_CA: an absolute path" >&2
    exit 1
    ;;
esac
if [ -r "$REELVAULT_NGINX_S3_CA" ]; then
    REELVAULT_NGINX_S3_TLS="proxy_ssl_verify on; proxy_ssl_verify_depth 4; proxy_ssl_trusted_certificate $REELVAULT_NGINX_S3_CA;"
else
    # Without a CA bundle an https store cannot be verified; a local-storage deployment does
    # not care, one on s3 over https should install ca-certificates.
    echo "render-nginx.sh: warning: no CA bundle at $REELVAULT_NGINX_S3_CA: https object stores are not verified" >&2
    REELVAULT_NGINX_S3_TLS="proxy_ssl_verify off;"
fi
# Addresses or names, blank-separated: anything else could end the line and add directives.
case $REELVAULT_NGINX_RESOLVER in
*[!A-Za-z0-9.:_\[\]\ -]* | "")
    echo "render-nginx.sh: REELVAULT_NGINX_RESOLVER: not a list of addresses" >&2
    exit 1
    ;;
esac
if [ -z "$REELVAULT_UPSTREAM_SERVERS" ]; then
    echo "render-nginx.sh: REELVAULT_UPSTREAM names no server" >&2
    exit 1
fi

export REELVAULT_NGINX_LISTEN REELVAULT_UPSTREAM_SERVERS REELVAULT_WEB_ROOT REELVAULT_MEDIA_DIR \
    REELVAULT_ACCEL_PREFIX REELVAULT_NGINX_BODY_LIMIT REELVAULT_NGINX_RUN_DIR \
    REELVAULT_NGINX_LOG_DIR REELVAULT_NGINX_S3_CACHE REELVAULT_NGINX_S3_CACHE_MAX_SIZE \
    REELVAULT_NGINX_RESOLVER REELVAULT_NGINX_S3_TLS

exec envsubst '${REELVAULT_NGINX_LISTEN} ${REELVAULT_UPSTREAM_SERVERS} ${REELVAULT_WEB_ROOT}
${REELVAULT_MEDIA_DIR} ${REELVAULT_ACCEL_PREFIX} ${REELVAULT_NGINX_BODY_LIMIT}
${REELVAULT_NGINX_RUN_DIR} ${REELVAULT_NGINX_LOG_DIR} ${REELVAULT_NGINX_S3_CACHE}
${REELVAULT_NGINX_S3_CACHE_MAX_SIZE} ${REELVAULT_NGINX_RESOLVER} ${REELVAULT_NGINX_S3_TLS}' < "$template"
