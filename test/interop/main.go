// kubelet-go: an independent kubelet peer built on grpc-go (the kubelet's own
// gRPC implementation). It serves kubelet.sock, accepts Register, dials the
// plugin back like the kubelet and runs one check per step. Exit 0 only if
// every check passed.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"google.golang.org/grpc"
)

const (
	apiVersion  = "v1beta1"
	pluginSvc   = "/v1beta1.DevicePlugin/"
	unknownID   = "0000:ff:1f.7"
	dialTimeout = 10 * time.Second
)

// registration is what the Register handler hands to the checks.
type registration struct {
	req     *RegisterRequest
	conn    *grpc.ClientConn
	options *DevicePluginOptions
}

type registrationServer interface{}

type kubelet struct {
	dir   string
	regs  chan *registration
	fails int
}

func (k *kubelet) check(name string, err error) bool {
	if err != nil {
		k.fails++
		fmt.Printf("FAIL %s: %v\n", name, err)
		return false
	}
	fmt.Printf("ok   %s\n", name)
	return true
}

var nameRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$`)
var domainRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

func validate(dir string, r *RegisterRequest) error {
	if r.Version != apiVersion {
		return fmt.Errorf("unsupported API version %q", r.Version)
	}
	parts := strings.Split(r.ResourceName, "/")
	if len(parts) != 2 || strings.Contains(r.ResourceName, "kubernetes.io/") ||
		!domainRe.MatchString(parts[0]) || !nameRe.MatchString(parts[1]) {
		return fmt.Errorf("invalid extended resource name %q", r.ResourceName)
	}
	if r.Endpoint == "" || strings.Contains(r.Endpoint, "/") {
		return fmt.Errorf("invalid endpoint %q", r.Endpoint)
	}
	if st, err := os.Stat(filepath.Join(dir, r.Endpoint)); err != nil || st.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("endpoint %q is not a socket in %s", r.Endpoint, dir)
	}
	return nil
}

// dial connects like the kubelet: blocking, unix socket, 10 s.
func dial(path string) (*grpc.ClientConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	return grpc.DialContext(ctx, path, grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithAuthority("localhost"),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", addr)
		}))
}

func (k *kubelet) register(ctx context.Context, r *RegisterRequest) (*Empty, error) {
	if err := validate(k.dir, r); err != nil {
		fmt.Printf("FAIL register %s: %v\n", r.ResourceName, err)
		k.fails++
		return nil, err
	}
	conn, err := dial(filepath.Join(k.dir, r.Endpoint))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %v", r.Endpoint, err)
	}
	opts := &DevicePluginOptions{}
	cctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if err := conn.Invoke(cctx, pluginSvc+"GetDevicePluginOptions", &Empty{}, opts); err != nil {
		conn.Close()
		return nil, fmt.Errorf("GetDevicePluginOptions: %v", err)
	}
	k.regs <- &registration{req: r, conn: conn, options: opts}
	return &Empty{}, nil
}

func registerHandler(srv interface{}, ctx context.Context, dec func(interface{}) error,
	_ grpc.UnaryServerInterceptor) (interface{}, error) {
	in := &RegisterRequest{}
	if err := dec(in); err != nil {
		return nil, err
	}
	return srv.(*kubelet).register(ctx, in)
}

var registrationDesc = grpc.ServiceDesc{
	ServiceName: "v1beta1.Registration",
	HandlerType: (*registrationServer)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Register", Handler: registerHandler}},
	Streams:     []grpc.StreamDesc{},
	Metadata:    "api.proto",
}
