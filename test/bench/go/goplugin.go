package main

// Baselines for `make bench`, built with Debian's grpc-go and the message
// types of test/interop/api.go:
//
//   goplugin serve -socket S -mode empty
//       a minimal grpc-go server with one empty unary method
//   goplugin serve -socket S -mode plugin -ids A,B,... -dev DIR
//          [-kubelet DIR -resource NAME]
//       a minimal grpc-go device plugin serving the same list: ListAndWatch
//       sends it once and stays open, Allocate answers device nodes, CDI
//       names and the env like ours, GetPreferredAllocation takes the first
//       available; registers with the kubelet when -kubelet is given
//   goplugin call -socket S -method empty|allocate|preferred -n N -ids A,B,...
//       N sequential calls on one connection; prints "p50_us p99_us"

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
)

const pluginSvc = "/v1beta1.DevicePlugin/"

type server struct {
	ids      []string
	resource string
	nodes    map[string]string // id -> /dev/vfio/devices/vfioN
}

func (s *server) list() *ListAndWatchResponse {
	l := &ListAndWatchResponse{}
	for _, id := range s.ids {
		l.Devices = append(l.Devices, &Device{ID: id, Health: "Healthy",
			Topology: &TopologyInfo{Nodes: []*NUMANode{{ID: 0}}}})
	}
	return l
}

func (s *server) allocate(in *AllocateRequest) (*AllocateResponse, error) {
	out := &AllocateResponse{}
	for _, c := range in.ContainerRequests {
		r := &ContainerAllocateResponse{Envs: map[string]string{}}
		for _, id := range c.DevicesIDs {
			node, ok := s.nodes[id]
			if !ok {
				return nil, fmt.Errorf("unknown device %s", id)
			}
			if _, err := os.Stat(node); err != nil {
				return nil, err
			}
			r.Devices = append(r.Devices, &DeviceSpec{ContainerPath: node, HostPath: node,
				Permissions: "rw"})
			r.CDIDevices = append(r.CDIDevices, &CDIDevice{Name: s.resource + "=" + id})
		}
		key := "PCI_RESOURCE_" + strings.NewReplacer("/", "_", ".", "_", "-", "_").Replace(
			strings.ToUpper(s.resource))
		r.Envs[key] = strings.Join(c.DevicesIDs, ",")
		out.ContainerResponses = append(out.ContainerResponses, r)
	}
	return out, nil
}

func (s *server) preferred(in *PreferredAllocationRequest) *PreferredAllocationResponse {
	out := &PreferredAllocationResponse{}
	for _, c := range in.ContainerRequests {
		ids := append([]string{}, c.AvailableDeviceIDs...)
		sort.Strings(ids)
		if int(c.AllocationSize) < len(ids) {
			ids = ids[:c.AllocationSize]
		}
		out.ContainerResponses = append(out.ContainerResponses,
			&ContainerPreferredAllocationResponse{DeviceIDs: ids})
	}
	return out
}

type pluginServer interface{}

type handler = func(interface{}, context.Context, func(interface{}) error,
	grpc.UnaryServerInterceptor) (interface{}, error)

func unary(fn func(s *server, dec func(interface{}) error) (interface{}, error)) handler {
	return func(srv interface{}, _ context.Context, dec func(interface{}) error,
		_ grpc.UnaryServerInterceptor) (interface{}, error) {
		return fn(srv.(*server), dec)
	}
}

var pluginDesc = grpc.ServiceDesc{
	ServiceName: "v1beta1.DevicePlugin",
	HandlerType: (*pluginServer)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "GetDevicePluginOptions", Handler: unary(func(s *server, dec func(interface{}) error) (interface{}, error) {
			in := &Empty{}
			if err := dec(in); err != nil {
				return nil, err
			}
			return &DevicePluginOptions{GetPreferredAllocationAvailable: true}, nil
		})},
		{MethodName: "Allocate", Handler: unary(func(s *server, dec func(interface{}) error) (interface{}, error) {
			in := &AllocateRequest{}
			if err := dec(in); err != nil {
				return nil, err
			}
			return s.allocate(in)
		})},
		{MethodName: "GetPreferredAllocation", Handler: unary(func(s *server, dec func(interface{}) error) (interface{}, error) {
			in := &PreferredAllocationRequest{}
			if err := dec(in); err != nil {
				return nil, err
			}
			return s.preferred(in), nil
		})},
	},
	Streams: []grpc.StreamDesc{{StreamName: "ListAndWatch", ServerStreams: true,
		Handler: func(srv interface{}, stream grpc.ServerStream) error {
			in := &Empty{}
			if err := stream.RecvMsg(in); err != nil {
				return err
			}
			if err := stream.SendMsg(srv.(*server).list()); err != nil {
				return err
			}
			<-stream.Context().Done()
			return nil
		}}},
	Metadata: "api.proto",
}

var emptyDesc = grpc.ServiceDesc{
	ServiceName: "bench.Empty",
	HandlerType: (*pluginServer)(nil),
	Methods: []grpc.MethodDesc{{MethodName: "Call", Handler: unary(func(s *server, dec func(interface{}) error) (interface{}, error) {
		in := &Empty{}
		if err := dec(in); err != nil {
			return nil, err
		}
		return &Empty{}, nil
	})}},
	Streams:  []grpc.StreamDesc{},
	Metadata: "bench",
}

func dial(path string) (*grpc.ClientConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return grpc.DialContext(ctx, path, grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithAuthority("localhost"),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", addr)
		}))
}

func register(kubelet, socket, resource string) error {
	conn, err := dial(filepath.Join(kubelet, "kubelet.sock"))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return conn.Invoke(ctx, "/v1beta1.Registration/Register", &RegisterRequest{
		Version: "v1beta1", Endpoint: filepath.Base(socket), ResourceName: resource,
		Options: &DevicePluginOptions{GetPreferredAllocationAvailable: true}}, &Empty{})
}

func serve(socket, mode, ids, dev, kubelet, resource string) error {
	s := &server{resource: resource, nodes: map[string]string{}}
	if ids != "" {
		s.ids = strings.Split(ids, ",")
	}
	for i, id := range s.ids {
		s.nodes[id] = filepath.Join(dev, "vfio", "devices", fmt.Sprintf("vfio%d", i))
	}
	os.Remove(socket)
	l, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	g := grpc.NewServer()
	if mode == "empty" {
		g.RegisterService(&emptyDesc, s)
	} else {
		g.RegisterService(&pluginDesc, s)
	}
	go g.Serve(l)
	if kubelet != "" {
		if err := register(kubelet, socket, resource); err != nil {
			return fmt.Errorf("register: %v", err)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	g.Stop()
	return nil
}

func call(socket, method string, n int, ids string) error {
	conn, err := dial(socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	list := strings.Split(ids, ",")
	var path string
	var in, out interface{}
	switch method {
	case "empty":
		path, in, out = "/bench.Empty/Call", &Empty{}, &Empty{}
	case "allocate":
		path = pluginSvc + "Allocate"
		in = &AllocateRequest{ContainerRequests: []*ContainerAllocateRequest{{DevicesIDs: list[:1]}}}
		out = &AllocateResponse{}
	case "preferred":
		path = pluginSvc + "GetPreferredAllocation"
		in = &PreferredAllocationRequest{ContainerRequests: []*ContainerPreferredAllocationRequest{
			{AvailableDeviceIDs: list, AllocationSize: 2}}}
		out = &PreferredAllocationResponse{}
	default:
		return fmt.Errorf("unknown method %s", method)
	}
	samples := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t0 := time.Now()
		err := conn.Invoke(ctx, path, in, out)
		samples = append(samples, float64(time.Since(t0).Nanoseconds())/1e3)
		cancel()
		if err != nil {
			return fmt.Errorf("%s call %d: %v", method, i, err)
		}
	}
	sort.Float64s(samples)
	fmt.Printf("%.1f %.1f\n", samples[n/2], samples[n*99/100])
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: goplugin serve|call ...")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	socket := fs.String("socket", "", "unix socket path")
	mode := fs.String("mode", "plugin", "serve: empty or plugin")
	ids := fs.String("ids", "", "device IDs, comma-separated")
	dev := fs.String("dev", "/dev", "dev root for device nodes")
	kubelet := fs.String("kubelet", "", "kubelet dir to register in")
	resource := fs.String("resource", "nvidia.com/pgpu", "resource name")
	method := fs.String("method", "allocate", "call: empty, allocate or preferred")
	n := fs.Int("n", 5000, "call: number of calls")
	fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(*socket, *mode, *ids, *dev, *kubelet, *resource)
	case "call":
		err = call(*socket, *method, *n, *ids)
	default:
		err = fmt.Errorf("unknown command %s", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "goplugin:", err)
		os.Exit(1)
	}
}
