// cdi-check loads a CDI spec directory with the CDI library that container
// runtimes use, resolves qualified device names and injects them into an
// empty OCI spec, so tests can check our specs the way a consumer sees them.
//
// Usage: cdi-check [-schema] -dir DIR [NAME[,NAME...]...]
//
// Each argument is one injection: its comma-separated qualified names (CDI
// names never contain a comma) go into one empty OCI spec together, as a
// runtime does for one container. It prints one JSON object on stdout:
//
//	{"devices": [every qualified name the registry knows, sorted],
//	 "injected": {"ARG": [{"path", "hostPath", "type", "major", "minor"}, ...]},
//	 "errors": ["..."]}
//
// "type", "major" and "minor" are what injection put into the OCI spec (the
// library stats hostPath); "hostPath" is the host node the resolved device
// names for that container path (path itself when the spec has none).
//
// and exits 1 when anything failed to load, resolve or inject.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/container-orchestrated-devices/container-device-interface/pkg/cdi"
	"github.com/container-orchestrated-devices/container-device-interface/pkg/cdi/validate"
	"github.com/container-orchestrated-devices/container-device-interface/schema"
	oci "github.com/opencontainers/runtime-spec/specs-go"
)

type node struct {
	Path     string `json:"path"`
	HostPath string `json:"hostPath"`
	Type     string `json:"type"`
	Major    int64  `json:"major"`
	Minor    int64  `json:"minor"`
}

type result struct {
	Devices  []string          `json:"devices"`
	Injected map[string][]node `json:"injected"`
	Errors   []string          `json:"errors"`
}

// hostPaths maps every container path the named devices define to its host node.
func hostPaths(cache *cdi.Cache, names []string) map[string]string {
	m := map[string]string{}
	for _, name := range names {
		dev := cache.GetDevice(name)
		if dev == nil {
			continue
		}
		for _, dn := range dev.ContainerEdits.DeviceNodes {
			if dn.HostPath != "" {
				m[dn.Path] = dn.HostPath
			} else {
				m[dn.Path] = dn.Path
			}
		}
	}
	return m
}

func inject(cache *cdi.Cache, arg string) ([]node, error) {
	names := strings.Split(arg, ",")
	for _, name := range names {
		if _, _, _, err := cdi.ParseQualifiedName(name); err != nil {
			return nil, err
		}
	}
	spec := &oci.Spec{Process: &oci.Process{}, Linux: &oci.Linux{}}
	if _, err := cache.InjectDevices(spec, names...); err != nil {
		return nil, err
	}
	hosts := hostPaths(cache, names)
	nodes := []node{}
	for _, d := range spec.Linux.Devices {
		nodes = append(nodes, node{d.Path, hosts[d.Path], d.Type, d.Major, d.Minor})
	}
	return nodes, nil
}

func run() (*result, bool) {
	dir := flag.String("dir", "", "CDI spec directory")
	withSchema := flag.Bool("schema", false, "also validate against the library's builtin JSON schema")
	flag.Parse()

	res := &result{Devices: []string{}, Injected: map[string][]node{}, Errors: []string{}}
	if *dir == "" {
		res.Errors = append(res.Errors, "-dir is required")
		return res, false
	}
	if *withSchema {
		cdi.SetSpecValidator(validate.WithSchema(schema.BuiltinSchema()))
	}
	cache, err := cdi.NewCache(cdi.WithSpecDirs(*dir), cdi.WithAutoRefresh(false))
	if err != nil {
		res.Errors = append(res.Errors, fmt.Sprintf("load: %v", err))
	}
	if cache == nil {
		return res, false
	}
	for path, errs := range cache.GetErrors() {
		for _, e := range errs {
			res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", path, e))
		}
	}
	res.Devices = append(res.Devices, cache.ListDevices()...)
	sort.Strings(res.Devices)
	for _, name := range flag.Args() {
		nodes, err := inject(cache, name)
		if err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		res.Injected[name] = nodes
	}
	sort.Strings(res.Errors)
	return res, len(res.Errors) == 0
}

func main() {
	res, ok := run()
	out, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cdi-check:", err)
		os.Exit(2)
	}
	fmt.Println(string(out))
	if !ok {
		os.Exit(1)
	}
}
