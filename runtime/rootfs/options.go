package rootfs

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOptions is one spec mount's options, split the way mount(2) wants
// them.
type mountOptions struct {
	flags     uint64   // MS_* flags for mount(2)
	propFlags []uint64 // propagation changes, applied in order after mounting
	data      string   // the rest, comma-joined, for the filesystem
	bind      bool     // "bind" or "rbind" was given
	idmap     bool     // "idmap" or "ridmap" was given
	ridmap    bool     // "ridmap": the mapping applies to every mount of an rbind
	recSet    uint64   // MOUNT_ATTR_* set on the mount and all below it
	recClr    uint64   // MOUNT_ATTR_* cleared on the mount and all below it
}

// flagOption is an option that sets (or, with clear, clears) a mount flag.
type flagOption struct {
	clear bool
	flag  uint64
}

// flagOptions are the fstab options mount(8) turns into flags (see
// mount(8) "FILESYSTEM-INDEPENDENT MOUNT OPTIONS" and runtime-spec
// config.md "Mounts", which defers to it).
var flagOptions = map[string]flagOption{
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"nosuid":        {false, unix.MS_NOSUID},
	"suid":          {true, unix.MS_NOSUID},
	"nodev":         {false, unix.MS_NODEV},
	"dev":           {true, unix.MS_NODEV},
	"noexec":        {false, unix.MS_NOEXEC},
	"exec":          {true, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"remount":       {false, unix.MS_REMOUNT},
	"mand":          {false, unix.MS_MANDLOCK},
	"nomand":        {true, unix.MS_MANDLOCK},
	"atime":         {true, unix.MS_NOATIME},
	"noatime":       {false, unix.MS_NOATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"nosymfollow":   {false, unix.MS_NOSYMFOLLOW},
	"symfollow":     {true, unix.MS_NOSYMFOLLOW},
	"bind":          {false, unix.MS_BIND},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
}

// propagationOptions map to the mount(2) call that changes a mount's
// propagation type (Documentation/filesystems/sharedsubtree.rst).
var propagationOptions = map[string]uint64{
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// recAttr is a runtime-spec 1.1 recursive option: MOUNT_ATTR_* bits to set
// and to clear on a mount and every mount below it (mount_setattr(2) with
// AT_RECURSIVE), which is what lets an rbind be read-only all the way down.
type recAttr struct{ set, clr uint64 }

// recursiveOptions are the recursive options (runtime-spec config.md
// "Mounts"). The atime modes are one field (MOUNT_ATTR__ATIME): setting one
// clears the others.
var recursiveOptions = map[string]recAttr{
	"rro":          {set: unix.MOUNT_ATTR_RDONLY},
	"rrw":          {clr: unix.MOUNT_ATTR_RDONLY},
	"rnosuid":      {set: unix.MOUNT_ATTR_NOSUID},
	"rsuid":        {clr: unix.MOUNT_ATTR_NOSUID},
	"rnodev":       {set: unix.MOUNT_ATTR_NODEV},
	"rdev":         {clr: unix.MOUNT_ATTR_NODEV},
	"rnoexec":      {set: unix.MOUNT_ATTR_NOEXEC},
	"rexec":        {clr: unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":  {set: unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":    {clr: unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow": {set: unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rsymfollow":   {clr: unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rrelatime":    {set: unix.MOUNT_ATTR_RELATIME, clr: unix.MOUNT_ATTR__ATIME},
	"rnoatime":     {set: unix.MOUNT_ATTR_NOATIME, clr: unix.MOUNT_ATTR__ATIME},
	"rstrictatime": {set: unix.MOUNT_ATTR_STRICTATIME, clr: unix.MOUNT_ATTR__ATIME},
}

// unsupportedOptions are options the runtime-spec defines but slrt does not
// implement. They fail loudly: passed on as data, the kernel would reject
// them with a bare EINVAL, or worse, accept them and ignore them.
var unsupportedOptions = map[string]string{
	"tmpcopyup": "not supported",
	// "Undo an atime mode" has no mount_setattr form: the atime field is
	// always one of relatime, noatime, strictatime.
	"ratime": "not supported (use rrelatime or rstrictatime)", "rnorelatime": "not supported (use rnoatime or rstrictatime)",
	"rnostrictatime": "not supported (use rrelatime or rnoatime)",
}

// parseOptions turns fstab-style options into flags, propagation changes
// and data. Later options win over earlier ones ("ro,rw" is rw), as in
// mount(8).
func parseOptions(opts []string) (mountOptions, error) {
	var o mountOptions
	var data []string
	for _, opt := range opts {
		if why, ok := unsupportedOptions[opt]; ok {
			return o, fmt.Errorf("option %q: %s", opt, why)
		}
		if f, ok := flagOptions[opt]; ok {
			if f.clear {
				o.flags &^= f.flag
			} else {
				o.flags |= f.flag
			}
			if f.flag&unix.MS_BIND != 0 {
				o.bind = true
			}
			continue
		}
		if a, ok := recursiveOptions[opt]; ok {
			// later options win: a set undoes an earlier clear and back
			o.recSet = o.recSet&^a.clr | a.set
			o.recClr = o.recClr&^a.set | a.clr
			continue
		}
		// runtime-spec config.md "idmap"/"ridmap": never passed to mount(2).
		if opt == "idmap" || opt == "ridmap" {
			o.idmap = true
			o.ridmap = o.ridmap || opt == "ridmap"
			continue
		}
		if p, ok := propagationOptions[opt]; ok {
			o.propFlags = append(o.propFlags, p)
			continue
		}
		if opt == "" {
			continue
		}
		data = append(data, opt)
	}
	o.data = strings.Join(data, ",")
	return o, nil
}
