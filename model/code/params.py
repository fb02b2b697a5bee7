"""Options of the code model: the GUCs of the C code at c2c6ec31 that change the scheduler's
behaviour, the environment events only the code model has, and the fix variants of
docs/findings.md. `pgcheck list --model code` prints them; `--option NAME=VALUE` sets them.

GUC options take the GUC's own values (milliseconds, the compaction level); the model
distinguishes only the cases the C code distinguishes (docs/code-map.md).
"""

from __future__ import annotations

from pgcheck.model.config import Param

CODE_PARAMS: list[Param] = [
    # GUCs (globals.c defaults at c2c6ec31).
    Param("sticky_idle_ms", "int", 10, "pooled_protocol_sticky_idle_ms: 0 = no attached idle wait, so the kernel socket is never read before a park (C3); > 0 = SocketBackendStickyIdleWait runs on every pass", 0, 1000, "guc"),
    Param("hibernate_after_ms", "int", -1, "pooled_protocol_hibernate_after_ms: -1 never, 0 always, > 0 after that long since the park's commit (PgProtocolParkHibernateDelayMs); the C default is 5000, the model's default -1 keeps the main job small (docs/code-map.md)", -1, 100000, "guc"),
    Param("idle_memory_compaction", "int", 1, "pooled_protocol_idle_memory_compaction: 0 off (hibernated never set), 1 trim, 2 cache", 0, 2, "guc"),
    Param("ssl_sessions", "int", 0, "sessions whose transport is SSL or GSS-encrypted: no wait events, PgBackendPrepareProtocolReadPark refuses, the read blocks on the carrier (C4)", 0, 12, "guc"),
    # Environment events only the code model has.
    Param("carrier_death", "bool", False, "an idle carrier may end with FATAL outside a session (poll() error, pthread failure): backend_thread_exit with no publication (C6)", group="code"),
    Param("reconnects", "int", 0, "new connections that reuse the slot of a released backend (backend_pooled_logical_start_alloc after _release)", 0, 3, "bound"),
    # Fix variants proposed in docs/findings.md (all off: the code as it is).
    Param("fix_poller_ownership", "bool", False, "fix for C1/C2: the poller re-checks only the backends it still holds POLLING, and a backend's memory is released only after no poller holds a pointer to it", group="fix"),
    Param("fix_sticky_zero", "bool", False, "fix for C3: with sticky_idle_ms = 0 the park path probes the kernel socket (PgConnectionProbeMessageType) before preparing a park", group="fix"),
    Param("fix_ssl_park", "bool", False, "fix for C4: an SSL/GSS transport reports WL_SOCKET_READABLE (and pending decrypted bytes as buffered input), so its session can park", group="fix"),
    Param("fix_hibernate", "bool", False, "fix for C5: the poller marks HIBERNATE only when the commit side would compact (compaction on, no open transaction), and after_ms = 0 fires once per idle period", group="fix"),
    Param("fix_carrier_pool", "bool", False, "fix for C6/C7: a carrier that exits unregisters and leaves the pool count, and a carrier that finds queued connections below the limit starts another", group="fix"),
]
CODE_PARAM_BY_NAME = {p.name: p for p in CODE_PARAMS}
FIXES = tuple(p.name for p in CODE_PARAMS if p.group == "fix")
