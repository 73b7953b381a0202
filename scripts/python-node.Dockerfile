# The offline stand-in image plus Debian's nodejs and npm, for the fullstack template's
# end-to-end tests. Built by scripts/node-image.sh, which says why it exists.
ARG BASE=devboot/python-flask:bookworm
FROM ${BASE}
# The base image's sources.list names the plain-HTTP mirror it was debootstrapped from.
# That mirror serves Release files past their Valid-Until date here, so apt accepts them
# for this build only: the image keeps no apt setting and, like the base, no package lists.
RUN apt-get -q -o Acquire::Check-Valid-Until=false update \
 && DEBIAN_FRONTEND=noninteractive apt-get -q -y install --no-install-recommends nodejs npm \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && node --version \
 && npm --version
