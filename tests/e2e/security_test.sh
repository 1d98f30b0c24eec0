#!/usr/bin/env bash
# End-to-end security tests of containerd-shim-tiny-v2 under a private
# containerd + runc: who may reach the shim's socket (file modes, compared with
# containerd-shim-runc-v2's in the same run; the peer-credential check), and
# what a request may name (ids, bundle, rootfs mounts, stdio and checkpoint
# paths, the runtime binary). Hostile requests go through shimctl (the Task
# service called directly), as a client past containerd would send them.
# Usage: security_test.sh SCENARIO   (one ctest per scenario; see the case below)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RT=io.containerd.tiny.v2
scenario=${1:?usage: security_test.sh SCENARIO}
SHIM=${E2E_BIN_DIR:+$E2E_BIN_DIR/}containerd-shim-tiny-v2
SHIMCTL=${E2E_SHIMCTL:-${E2E_BIN_DIR:-.}/../tests/shimctl}
BOUND=${SECURITY_BOUND:-20}
NOBODY=65534

setup() {
	e2e_setup
	e2e_start_containerd
	e2e_build_rootfs "$E2E_DIR/rootfs"
	RUNC_ROOT=/run/containerd/runc/$E2E_NS
}

expect_eq() { # got want what
	[ "$1" = "$2" ] || e2e_fail "$3: got '$1', want '$2'"
}

expect_match() { # text extended-regex what
	printf '%s\n' "$1" | grep -Eq -- "$2" || e2e_fail "$3: '$1' does not match /$2/"
}

# sc [--as SPEC] SOCKET VERB ARGS...: shimctl; output in OUT, status in RC
sc() {
	local as=()
	if [ "$1" = --as ]; then
		as=(--as "$2")
		shift 2
	fi
	local sock=$1
	shift
	RC=0
	OUT=$("$SHIMCTL" "${as[@]}" "$sock" "$E2E_NS" "$@" 2>&1) || RC=$?
}

bundle_of() { echo "$E2E_DIR/state/io.containerd.runtime.v2.task/$E2E_NS/$1"; }
shim_sock() { sed 's|^unix://||' "$(bundle_of "$1")/address"; }
task_status() { e2e_ctr task ls | awk -v id="$1" '$1 == id { print $3 }'; }
task_is() { [ "$(task_status "$1")" = "$2" ]; }

# A running container under our shim, whose shim the hostile calls go to.
start_target() { # id
	e2e_ctr run -d --runtime "$RT" --rootfs "$E2E_DIR/rootfs" "$1" /bin/sleep 600 >/dev/null
	e2e_wait_for "$BOUND" "$1 to run" task_is "$1" RUNNING
}

stop_target() { # id
	e2e_ctr task kill -s KILL "$1"
	e2e_wait_for "$BOUND" "$1 to stop" task_is "$1" STOPPED
	e2e_ctr task rm "$1" >/dev/null
	e2e_ctr c rm "$1"
}

# A bundle for shimctl create (as lifecycle_test.sh's): config.json of runc
# spec, rootfs from a bind mount in the request, cgroup under the namespace.
make_bundle() { # dir id
	mkdir -p "$1/rootfs"
	runc spec --bundle "$1"
	jq --arg cg "/$E2E_NS/$2" '.process.terminal = false | .process.args = ["/bin/true"] |
		.root = {path: "rootfs", readonly: false} | .linux.cgroupsPath = $cg' "$1/config.json" >"$1/config.json.new"
	mv "$1/config.json.new" "$1/config.json"
}

# Everything under DIR, with modes, for "nothing was created" checks.
listing() { find "$1" -path "$1/root" -prune -o -printf '%p %y %m\n' 2>/dev/null | sort; }

nothing_made() { # what id: no runc state, no mount under E2E_DIR
	[ ! -e "$RUNC_ROOT/$2" ] || e2e_fail "$1: runc state of $2 exists"
	[ -z "$(e2e_our_mounts)" ] || e2e_fail "$1: mounts left: $(e2e_our_mounts | tr '\n' ' ')"
}

# expect_refused WHAT CODE REGEX: the last sc call was answered CODE with a
# message that begins with a match of REGEX (the field's name).
expect_refused() {
	[ "$RC" = 1 ] || e2e_fail "$1: shimctl status $RC, want 1 (an error answer): $OUT"
	expect_match "$OUT" "^$2: $3" "$1"
}

# ---- 1. socket and directory modes ----
# Our shim's socket is a socket owned by root with no group/other permission,
# in a root-owned directory nobody else may enter or write; compared with
# containerd-shim-runc-v2's socket in the same run: ours grants nothing it
# does not. A uid other than root cannot connect at all.
t_socket_perms() {
	setup
	start_target sp1
	e2e_ctr run -d --runtime io.containerd.runc.v2 --rootfs "$E2E_DIR/rootfs" sp2 /bin/sleep 600 >/dev/null
	e2e_wait_for "$BOUND" "sp2 (runc-v2) to run" task_is sp2 RUNNING
	local ours theirs dir
	ours=$(shim_sock sp1)
	theirs=$(shim_sock sp2)
	dir=${ours%/*}
	expect_eq "$dir" "$E2E_SOCKET_DIR" "our socket's directory"
	expect_eq "${theirs%/*}" "$E2E_SOCKET_DIR" "runc-v2's socket's directory"
	local om tm dm
	read -r om _ < <(stat -c '%a %U' "$ours")
	read -r tm _ < <(stat -c '%a %U' "$theirs")
	read -r dm _ < <(stat -c '%a %U' "$dir")
	e2e_log "modes: our socket $om, runc-v2's socket $tm, $dir $dm"
	expect_eq "$(stat -c '%F %U %G' "$ours")" "socket root root" "type and owner of our socket"
	expect_eq "$(stat -c '%F %U' "$dir")" "directory root" "type and owner of $dir"
	[ $((8#$om & 8#077)) = 0 ] || e2e_fail "our socket $ours is mode $om: group/other bits set"
	[ $((8#$dm & 8#077)) = 0 ] || e2e_fail "$dir is mode $dm: group/other bits set"
	[ $((8#$om & ~8#$tm & 8#777)) = 0 ] ||
		e2e_fail "our socket (mode $om) grants what runc-v2's (mode $tm) does not"
	# and so: as uid $NOBODY, without capabilities, the connect itself fails
	sc --as "$NOBODY:$NOBODY" "$ours" connect sp1
	expect_eq "$RC" 2 "shimctl as uid $NOBODY (no capabilities): status ($OUT)"
	expect_match "$OUT" "connect $ours" "shimctl as uid $NOBODY"
	sc "$ours" connect sp1
	expect_match "$RC:$OUT" '^0:shim_pid=[1-9]' "root's Connect (the control)"
	stop_target sp1
	stop_target sp2
	e2e_expect_clean
}

# ---- 2. peer credentials ----
# Past the file permissions (CAP_DAC_OVERRIDE kept), a ttrpc call from uid
# 65534 is refused: the shim closes the connection on accept (SO_PEERCRED) and
# logs the peer; so is uid 0 with another gid (containerd's shims require both,
# ttrpc.UnixSocketRequireSameUser). Root's calls still work afterwards.
t_peer_creds() {
	setup
	start_target pc1
	local sock pid
	sock=$(shim_sock pc1)
	pid=$(e2e_ctr task ls | awk '$1 == "pc1" { print $2 }')
	sc --as "$NOBODY:$NOBODY:dac" "$sock" connect pc1
	expect_match "$RC:$OUT" '^1:UNAVAILABLE: ' "a Connect from uid $NOBODY with CAP_DAC_OVERRIDE"
	sc --as "$NOBODY:$NOBODY:dac" "$sock" kill pc1 9
	expect_match "$RC:$OUT" '^1:UNAVAILABLE: ' "a Kill from uid $NOBODY with CAP_DAC_OVERRIDE"
	sc --as "0:$NOBODY" "$sock" connect pc1
	expect_match "$RC:$OUT" '^1:UNAVAILABLE: ' "a Connect from uid 0, gid $NOBODY"
	e2e_wait_for "$BOUND" "the shim's log lines of the refused peers" \
		grep -q "rejected peer pid [0-9]* uid 0 gid $NOBODY" "$E2E_DIR/containerd.log"
	expect_eq "$(grep -c "rejected peer pid [0-9]* uid $NOBODY gid $NOBODY" "$E2E_DIR/containerd.log")" 2 \
		"log lines of the refused uid $NOBODY peers"
	kill -0 "$pid" || e2e_fail "the container died: the refused Kill reached it"
	expect_eq "$(task_status pc1)" RUNNING "pc1 after the refused calls"
	sc "$sock" connect pc1
	expect_eq "$RC:$OUT" "0:shim_pid=$(cat "$(bundle_of pc1)/shim.pid") task_pid=$pid version=${OUT##*version=}" \
		"root's Connect after the refused ones"
	stop_target pc1
	e2e_expect_clean
}

# ---- 3. ids ----
# Container ids in Create and exec ids in Exec follow containerd's identifiers
# rule (^[A-Za-z0-9]+([._-][A-Za-z0-9]+)*$, at most 76): each bad one is
# INVALID_ARGUMENT naming the field, before anything is made; a 76-character
# id passes the id check (the next check, the bundle, is what refuses it).
# The start action refuses a bad -id before making a socket.
t_bad_ids() {
	setup
	start_target id1
	local sock b=$E2E_DIR/bundles/ok id before
	sock=$(shim_sock id1)
	make_bundle "$b" ok
	before=$(listing "$E2E_DIR")
	local long76 long77
	long76=$(printf 'a%.0s' $(seq 76))
	long77=${long76}b
	for id in '../x' 'a/b' '/abs' '.' '..' 'a..b' '-a' 'a b' $'a\nb' "$long77" 'a/../../etc' 'é'; do
		sc "$sock" create "$id" "$b" --mount bind "$E2E_DIR/rootfs" rbind,rw
		expect_refused "Create with container id '$id'" INVALID_ARGUMENT 'container id'
	done
	sc "$sock" create '' "$b"
	expect_refused "Create with an empty container id" INVALID_ARGUMENT 'container id must not be empty'
	sc "$sock" create "$long76" "$E2E_DIR/no-such-bundle"
	expect_refused "Create with a 76-character id" INVALID_ARGUMENT 'bundle'
	for id in '../x' 'a/b' '/abs' "$long77" '.' $'a\tb'; do
		sc "$sock" exec id1 "$id"
		expect_refused "Exec with exec id '$id'" INVALID_ARGUMENT 'exec id'
	done
	expect_eq "$(listing "$E2E_DIR")" "$before" "files under $E2E_DIR after the refused calls"
	nothing_made "refused Creates" ok
	# the start action, as containerd runs it, with a hostile -id
	local out rc=0
	out=$(cd "$b" && "$SHIM" -namespace "$E2E_NS" -address "$E2E_SOCK" -publish-binary /usr/bin/containerd \
		-id ../x start 2>&1) || rc=$?
	[ "$rc" != 0 ] || e2e_fail "start with -id ../x succeeded: $out"
	expect_match "$out" 'container id "\.\./x" must match' "start with -id ../x"
	[ ! -e "$b/address" ] || e2e_fail "start with -id ../x wrote $b/address"
	rm -r "$b"
	stop_target id1
	e2e_expect_clean
}

# ---- 4. paths ----
# Bundle, rootfs mounts, stdio and checkpoint paths of Create (and Exec's
# stdio, Checkpoint's path): each bad one is INVALID_ARGUMENT naming the
# field; nothing is created on disk (no file at a stdio path, nothing in a
# bundle that was refused, no mount, no runc state). A mount target that
# reaches outside the rootfs through a symlink is refused and nothing stays
# mounted.
t_bad_paths() {
	setup
	start_target pa1
	local sock b=$E2E_DIR/bundles/pb before
	sock=$(shim_sock pa1)
	make_bundle "$b" pb
	mkdir -p "$E2E_DIR/nocfg" "$E2E_DIR/outside" "$E2E_DIR/src"
	mkfifo "$E2E_DIR/fifo-out"
	ln -s "$E2E_DIR/fifo-out" "$E2E_DIR/fifo-link"
	: >"$E2E_DIR/regular"
	ln -s "$b" "$E2E_DIR/bundle-link"
	before=$(listing "$E2E_DIR")
	local m=(--mount bind "$E2E_DIR/rootfs" rbind,rw) p
	# bundles
	for p in bundles/pb "$E2E_DIR/bundles/../bundles/pb" "$b/" "$E2E_DIR//bundles/pb" "$E2E_DIR/./bundles/pb" \
		"$E2E_DIR/bundle-link" "$E2E_DIR/nocfg" "$E2E_DIR/missing" "$E2E_DIR/regular" $'/tmp/a\nb'; do
		sc "$sock" create pb "$p" "${m[@]}"
		expect_refused "Create with bundle '$p'" INVALID_ARGUMENT 'bundle'
	done
	# rootfs mounts
	sc "$sock" create pb "$b" --mount '' "$E2E_DIR/rootfs" rbind
	expect_refused "Create with an empty mount type" INVALID_ARGUMENT 'rootfs\[0\]\.type'
	sc "$sock" create pb "$b" --mount '../bind' "$E2E_DIR/rootfs" rbind
	expect_refused "Create with mount type ../bind" INVALID_ARGUMENT 'rootfs\[0\]\.type'
	sc "$sock" create pb "$b" --mount bind '' rbind
	expect_refused "Create with an empty mount source" INVALID_ARGUMENT 'rootfs\[0\]\.source'
	sc "$sock" create pb "$b" --mount bind "$E2E_DIR/rootfs" $'rbind,x\ny'
	expect_refused "Create with a control character in an option" INVALID_ARGUMENT 'rootfs\[0\]\.options\[1\]'
	sc "$sock" create pb "$b" "${m[@]}" --mount bind "$E2E_DIR/src" rbind --target $'a\nb'
	expect_refused "Create with a control character in a target" INVALID_ARGUMENT 'rootfs\[1\]\.target'
	# stdio
	for p in out "$E2E_DIR/x/../fifo-out" "$E2E_DIR/regular" "$E2E_DIR/fifo-link" "$E2E_DIR/new-file" \
		"file://rel/new-file" "file://$E2E_DIR/x/../new-file" "fifo://$E2E_DIR/regular" "binary://$E2E_DIR/new-file"; do
		for f in stdin stdout stderr; do
			sc "$sock" create pb "$b" "${m[@]}" "--$f" "$p"
			expect_refused "Create with $f '$p'" INVALID_ARGUMENT "$f "
			sc "$sock" exec pa1 x1 "--$f" "$p"
			expect_refused "Exec with $f '$p'" INVALID_ARGUMENT "$f "
		done
	done
	# file:// is for stdout and stderr (the shim creates that file, as runc-v2 does), never stdin
	sc "$sock" create pb "$b" "${m[@]}" --stdin "file://$E2E_DIR/new-file"
	expect_refused "Create with stdin 'file://$E2E_DIR/new-file'" INVALID_ARGUMENT "stdin "
	sc "$sock" exec pa1 x1 --stdin "file://$E2E_DIR/new-file"
	expect_refused "Exec with stdin 'file://$E2E_DIR/new-file'" INVALID_ARGUMENT "stdin "
	# checkpoints: a bad path is named; a good one is what is not supported
	sc "$sock" create pb "$b" "${m[@]}" --checkpoint ../cp
	expect_refused "Create with checkpoint ../cp" INVALID_ARGUMENT 'checkpoint "'
	sc "$sock" create pb "$b" "${m[@]}" --parent-checkpoint "$E2E_DIR/../cp"
	expect_refused "Create with parent_checkpoint .." INVALID_ARGUMENT 'parent_checkpoint "'
	sc "$sock" create pb "$b" "${m[@]}" --checkpoint "$E2E_DIR/cp"
	expect_refused "Create with a clean checkpoint path" UNIMPLEMENTED 'restore from checkpoint'
	sc "$sock" checkpoint pa1 cp
	expect_refused "Checkpoint with path cp" INVALID_ARGUMENT 'path "cp"'
	sc "$sock" checkpoint pa1 "$E2E_DIR/cp"
	expect_refused "Checkpoint with a clean path" UNIMPLEMENTED 'checkpoint is not supported'
	expect_eq "$(listing "$E2E_DIR")" "$before" "files under $E2E_DIR after the refused calls"
	nothing_made "refused Creates" pb
	# a symlink in the bundle's rootfs pointing outside: a mount on target
	# "escape" would land on $E2E_DIR/outside
	ln -s "$E2E_DIR/outside" "$b/rootfs/escape"
	sc "$sock" create pb "$b" --mount bind "$E2E_DIR/rootfs" rbind,rw --target escape
	expect_refused "Create with a mount target through a symlink" INVALID_ARGUMENT \
		'.*rootfs\[0\]: .*target "escape" crosses a symlink'
	awk -v d="$E2E_DIR/outside" '$5 == d { exit 1 }' /proc/self/mountinfo ||
		e2e_fail "$E2E_DIR/outside was mounted on through the symlink"
	nothing_made "the Create with a symlinked target" pb
	expect_eq "$(ls -A "$E2E_DIR/outside")" "" "what the refused mount left in $E2E_DIR/outside"
	rm "$b/rootfs/escape"
	# the control: the same request with good fields is accepted
	sc "$sock" create pb "$b" "${m[@]}" --stdout "$E2E_DIR/fifo-out"
	expect_match "$RC:$OUT" '^0:pid=[1-9]' "the control Create with good fields"
	sc "$sock" delete pb
	expect_match "$RC:$OUT" '^0:pid=' "Delete of the control container"
	rm -r "$b" "$E2E_DIR/src" "$E2E_DIR/outside" "$E2E_DIR/nocfg"
	rm "$E2E_DIR/fifo-out" "$E2E_DIR/fifo-link" "$E2E_DIR/regular" "$E2E_DIR/bundle-link"
	stop_target pa1
	e2e_expect_clean
}

# ---- 5. the runtime binary ----
# Policy (containerd's, as containerd-shim-runc-v2): the runtime named by the
# Create's options (containerd.runc.v1.Options.binary_name, or the binary_name
# of a runtimeoptions.v1.Options config_path file) is what runs: containerd's
# config or its client chose it. On top: the shim runs such a binary, and
# reads such a config, only when root alone can have written it (owned by
# root, not group/other-writable, nor is its directory unless sticky); a
# relative name with a "/" or a relative config path is refused. A refused
# binary never runs (its marker file stays absent).
t_runtime_binary() {
	setup
	start_target rb1
	local sock b=$E2E_DIR/bundles/rbx d=$E2E_DIR/rt
	sock=$(shim_sock rb1)
	make_bundle "$b" rbx
	mkdir -p "$d" "$E2E_DIR/open-dir"
	chmod 0755 "$d"
	chmod 0777 "$E2E_DIR/open-dir"
	write_wrapper() { # path marker
		printf '#!/bin/sh\necho "$*" >>%s\nexec runc "$@"\n' "$2" >"$1"
		chmod 0755 "$1"
	}
	write_wrapper "$d/good" "$E2E_DIR/ran-good"
	write_wrapper "$d/nobodys" "$E2E_DIR/ran-nobodys"
	chown "$NOBODY:$NOBODY" "$d/nobodys"
	write_wrapper "$d/writable" "$E2E_DIR/ran-writable"
	chmod 0777 "$d/writable"
	write_wrapper "$E2E_DIR/open-dir/in-open-dir" "$E2E_DIR/ran-open-dir"
	local m=(--mount bind "$E2E_DIR/rootfs" rbind,rw) w
	for w in "$d/nobodys" "$d/writable" "$E2E_DIR/open-dir/in-open-dir"; do
		sc "$sock" create rbx "$b" "${m[@]}" --runc-binary "$w"
		expect_refused "Create with binary_name $w" FAILED_PRECONDITION "runtime binary \"$w\" is not trusted"
		printf '{"binary_name": "%s"}\n' "$w" >"$d/cfg.json"
		sc "$sock" create rbx "$b" "${m[@]}" --config "$d/cfg.json"
		expect_refused "Create with a config naming $w" FAILED_PRECONDITION "runtime binary \"$w\" is not trusted"
	done
	sc "$sock" create rbx "$b" "${m[@]}" --runc-binary rt/good
	expect_refused "Create with binary_name rt/good" INVALID_ARGUMENT 'runtime binary "rt/good" must be a bare name or an absolute path'
	printf '{"binary_name": "%s"}\n' "$d/good" >"$d/cfg.json"
	chmod 0666 "$d/cfg.json"
	sc "$sock" create rbx "$b" "${m[@]}" --config "$d/cfg.json"
	expect_refused "Create with a world-writable config" FAILED_PRECONDITION "runtime config \"$d/cfg.json\" is not trusted"
	chmod 0644 "$d/cfg.json"
	sc "$sock" create rbx "$b" "${m[@]}" --config rt/cfg.json
	expect_refused "Create with a relative config path" INVALID_ARGUMENT 'runtime config "rt/cfg.json" must be an absolute path'
	local f
	for f in ran-nobodys ran-writable ran-open-dir ran-good; do
		[ ! -e "$E2E_DIR/$f" ] || e2e_fail "a refused runtime ran: $E2E_DIR/$f: $(cat "$E2E_DIR/$f")"
	done
	nothing_made "refused Creates" rbx
	# the contract: a trusted binary named by the options runs, both ways
	sc "$sock" create rbx "$b" "${m[@]}" --runc-binary "$d/good"
	expect_match "$RC:$OUT" '^0:pid=[1-9]' "Create with binary_name $d/good"
	grep -q "create --bundle $b" "$E2E_DIR/ran-good" || e2e_fail "$d/good did not create rbx"
	sc "$sock" delete rbx
	expect_match "$RC:$OUT" '^0:pid=' "Delete of rbx"
	: >"$E2E_DIR/ran-good"
	sc "$sock" create rbx "$b" "${m[@]}" --config "$d/cfg.json"
	expect_match "$RC:$OUT" '^0:pid=[1-9]' "Create with a config naming $d/good"
	grep -q "create --bundle $b" "$E2E_DIR/ran-good" || e2e_fail "$d/good (from the config) did not create rbx"
	sc "$sock" delete rbx
	expect_match "$RC:$OUT" '^0:pid=' "Delete of rbx"
	rm -r "$b"
	stop_target rb1
	e2e_expect_clean
}

case "$scenario" in
socket_perms | peer_creds | bad_ids | bad_paths | runtime_binary)
	"t_$scenario"
	e2e_sanitizer_verdict
	e2e_log "PASS: $scenario"
	;;
*) e2e_fail "unknown scenario $scenario" ;;
esac
