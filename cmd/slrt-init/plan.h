/*
 * The Plan as slrt-init (C) holds it after decoding: the C mirror of
 * runtime/channel's Plan, Message and StartRequest (plan.go, channel.go).
 *
 * Wire format (runtime/channel/wire.go writes and reads the same): one
 * SOCK_SEQPACKET datagram per Message, host byte order (both ends run on the
 * same machine), no padding:
 *   u8/u32/u64/i32/i64  fixed width, memcpy'd
 *   bool                u8, 0 or 1
 *   str / bytes         u32 length, then the bytes (no NUL on the wire)
 *   list<T>             u32 count, then count T's
 *   opt<T>              bool present, then T when present
 * Every struct below is encoded field by field IN THE ORDER DECLARED HERE,
 * which is the order of the Go struct's fields. A Message starts with the
 * u32 magic WIRE_MAGIC (a version: change it when the format changes).
 *
 * The decoder allocates with malloc and NUL-terminates every string; lists of
 * strings also get a NULL after the last element (ready for execve). Nothing
 * is freed: the init either execs or exits.
 */
#ifndef SLRT_INIT_PLAN_H
#define SLRT_INIT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_MAGIC 0x31746c73u /* "slt1" little-endian */

enum msg_kind {
	KIND_PLAN = 1,
	KIND_MOUNTS_READY = 2,
	KIND_CONTINUE = 3,
	KIND_CREATED = 4,
	KIND_START = 5,
	KIND_ERROR = 6,
};

struct strs {            /* list<str> */
	uint32_t n;
	char **v;        /* v[n] == NULL */
};

struct kv {              /* channel.KV */
	char *key;
	char *value;
};

struct hook {            /* channel.Hook */
	char *path;
	struct strs args;
	struct strs env;
	int64_t timeout; /* seconds, 0 = none */
};

struct time_offset {     /* channel.TimeOffset */
	char *clock;     /* "monotonic" or "boottime" */
	int64_t secs;
	uint32_t nanos;
};

struct mount {           /* channel.Mount */
	char *source;
	char *target;
	char *type;
	uint64_t flags;
	uint32_t n_prop_flags;
	uint64_t *prop_flags;  /* list<u64> */
	char *data;
	bool bind;
	bool source_is_file;
	int32_t source_fd;
	bool idmap;
	bool idmap_recursive;
	int32_t mount_fd;
	uint64_t rec_attr_set;
	uint64_t rec_attr_clr;
};

struct device {          /* channel.Device */
	char *path;
	uint32_t type;   /* S_IFCHR, S_IFBLK, S_IFIFO */
	int64_t major;
	int64_t minor;
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
};

struct rootfs_plan {     /* channel.RootfsPlan */
	char *path;
	bool readonly;
	uint64_t propagation;
	bool no_pivot;
	uint32_t n_mounts;
	struct mount *mounts;
	uint32_t n_devices;
	struct device *devices;
	struct strs masked_paths;
	struct strs readonly_paths;
	char *mount_label;
	bool default_symlink;
	bool cgroup_ns;
};

struct caps {            /* channel.Caps */
	uint64_t bounding;
	uint64_t effective;
	uint64_t permitted;
	uint64_t inheritable;
	uint64_t ambient;
};

struct rlimit_plan {     /* channel.Rlimit */
	int64_t resource;
	char *name;
	uint64_t soft;
	uint64_t hard;
};

struct scheduler {       /* channel.Scheduler */
	uint32_t policy;
	int32_t nice;
	uint32_t priority;
	uint64_t flags;
	uint64_t runtime;
	uint64_t deadline;
	uint64_t period;
};

struct ioprio {          /* channel.IOPrio */
	int64_t class;
	int64_t priority;
};

struct process_plan {    /* channel.ProcessPlan */
	struct strs args;
	struct strs env;
	char *cwd;
	uint32_t uid;
	uint32_t gid;
	uint32_t n_additional_gids;
	uint32_t *additional_gids;     /* list<u32> */
	bool has_umask;                /* opt<u32> */
	uint32_t umask;
	bool has_caps;                 /* opt<caps> */
	struct caps caps;
	bool no_new_privileges;
	uint32_t n_rlimits;
	struct rlimit_plan *rlimits;
	bool has_oom_score_adj;        /* opt<i64> */
	int64_t oom_score_adj;
	char *apparmor_profile;
	char *selinux_label;
	bool has_scheduler;            /* opt<scheduler> */
	struct scheduler scheduler;
	bool has_ioprio;               /* opt<ioprio> */
	struct ioprio ioprio;
	char *cpus;
	char *initial_cpus;
	uint32_t seccomp_len;          /* bytes */
	unsigned char *seccomp;
	uint32_t seccomp_flags;
	int32_t seccomp_listener_fd;
	uint32_t seccomp_state_len;    /* bytes */
	unsigned char *seccomp_state;
};

struct plan {            /* channel.Plan */
	bool exec;
	struct rootfs_plan rootfs;
	struct process_plan proc;
	char *hostname;
	bool set_hostname;
	char *domainname;
	bool set_domainname;
	uint32_t n_sysctls;
	struct kv *sysctls;
	uint32_t n_create_ctr_hooks;
	struct hook *create_ctr_hooks;
	uint32_t n_start_ctr_hooks;
	struct hook *start_ctr_hooks;
	bool console;
	uint32_t console_rows;
	uint32_t console_cols;
	int32_t listen_fd;
	int32_t console_fd;
	bool new_user_ns;
	bool unshare_cgroup_ns;
	bool time_ns;
	uint32_t n_time_offsets;
	struct time_offset *time_offsets;
	int32_t mount_ns_fd;
	uint32_t n_preserve_fds;
	int32_t *preserve_fds;         /* list<i32> */
};

struct start_request {   /* channel.StartRequest */
	struct strs args;
	bool has_env;            /* opt<list<str>>: nil Env keeps the spec's */
	struct strs env;
	char *cwd;
	char *cpus;
};

struct message {         /* channel.Message, after the magic */
	uint8_t kind;            /* enum msg_kind */
	char *error;
	uint32_t state_len;      /* bytes */
	unsigned char *state;
	uint32_t files;
	struct plan *plan;       /* opt<plan>, NULL when absent */
	struct start_request *start; /* opt<start_request> */
};

#endif
