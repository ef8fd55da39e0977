package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// firstList opens ListAndWatch and returns the first list (the stream stays
// open until ctx ends, as the kubelet keeps it).
func firstList(ctx context.Context, conn *grpc.ClientConn) (*ListAndWatchResponse, error) {
	desc := &grpc.StreamDesc{StreamName: "ListAndWatch", ServerStreams: true}
	stream, err := conn.NewStream(ctx, desc, pluginSvc+"ListAndWatch")
	if err != nil {
		return nil, err
	}
	if err := stream.SendMsg(&Empty{}); err != nil {
		return nil, err
	}
	if err := stream.CloseSend(); err != nil {
		return nil, err
	}
	list := &ListAndWatchResponse{}
	if err := stream.RecvMsg(list); err != nil {
		return nil, err
	}
	return list, nil
}

func checkList(list *ListAndWatchResponse) error {
	if len(list.Devices) == 0 {
		return errors.New("empty device list")
	}
	for _, d := range list.Devices {
		if d.ID == "" || (d.Health != "Healthy" && d.Health != "Unhealthy") {
			return fmt.Errorf("bad device %v", d)
		}
	}
	return nil
}

func healthyIDs(list *ListAndWatchResponse) []string {
	var ids []string
	for _, d := range list.Devices {
		if d.Health == "Healthy" {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

func checkPreferred(ctx context.Context, conn *grpc.ClientConn, avail []string) error {
	req := &PreferredAllocationRequest{ContainerRequests: []*ContainerPreferredAllocationRequest{
		{AvailableDeviceIDs: avail, AllocationSize: 1}}}
	resp := &PreferredAllocationResponse{}
	if err := conn.Invoke(ctx, pluginSvc+"GetPreferredAllocation", req, resp); err != nil {
		return err
	}
	if len(resp.ContainerResponses) != 1 || len(resp.ContainerResponses[0].DeviceIDs) != 1 {
		return fmt.Errorf("want one device in one container response, got %v", resp)
	}
	got := resp.ContainerResponses[0].DeviceIDs[0]
	for _, id := range avail {
		if id == got {
			return nil
		}
	}
	return fmt.Errorf("preferred %q is not available", got)
}

func checkAllocate(ctx context.Context, conn *grpc.ClientConn, res, id string) error {
	req := &AllocateRequest{ContainerRequests: []*ContainerAllocateRequest{{DevicesIDs: []string{id}}}}
	resp := &AllocateResponse{}
	if err := conn.Invoke(ctx, pluginSvc+"Allocate", req, resp); err != nil {
		return err
	}
	if len(resp.ContainerResponses) != 1 {
		return fmt.Errorf("want one container response, got %d", len(resp.ContainerResponses))
	}
	c := resp.ContainerResponses[0]
	if len(c.Devices) == 0 {
		return errors.New("no device specs")
	}
	for _, d := range c.Devices {
		if d.ContainerPath == "" || d.HostPath == "" || d.Permissions == "" {
			return fmt.Errorf("incomplete device spec %v", d)
		}
	}
	want := res + "=" + id
	for _, cdi := range c.CDIDevices {
		if cdi.Name == want {
			return nil
		}
	}
	return fmt.Errorf("cdi_devices %v lack %q", c.CDIDevices, want)
}

func checkUnknownID(ctx context.Context, conn *grpc.ClientConn) error {
	req := &AllocateRequest{ContainerRequests: []*ContainerAllocateRequest{{DevicesIDs: []string{unknownID}}}}
	err := conn.Invoke(ctx, pluginSvc+"Allocate", req, &AllocateResponse{})
	st, _ := status.FromError(err)
	if err == nil || st.Code() != codes.InvalidArgument {
		return fmt.Errorf("want InvalidArgument, got %v", err)
	}
	if !strings.Contains(st.Message(), unknownID) {
		return fmt.Errorf("message %q does not name %s", st.Message(), unknownID)
	}
	return nil
}

func checkUnknownMethod(ctx context.Context, conn *grpc.ClientConn) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	err := conn.Invoke(cctx, pluginSvc+"NoSuchMethod", &Empty{}, &Empty{})
	took := time.Since(start)
	if st, _ := status.FromError(err); err == nil || st.Code() != codes.Unimplemented {
		return fmt.Errorf("want Unimplemented, got %v", err)
	}
	if took > time.Second {
		return fmt.Errorf("Unimplemented took %v (> 1s)", took)
	}
	return nil
}

func (k *kubelet) runChecks(ctx context.Context, reg *registration) {
	res := reg.req.ResourceName
	fmt.Printf("ok   register %s endpoint=%s preferred=%v\n", res, reg.req.Endpoint,
		reg.options.GetPreferredAllocationAvailable)
	list, err := firstList(ctx, reg.conn)
	if err == nil {
		err = checkList(list)
	}
	if !k.check(res+" ListAndWatch first list", err) {
		return
	}
	fmt.Printf("     %d device(s)\n", len(list.Devices))
	ids := healthyIDs(list)
	if len(ids) == 0 {
		k.check(res+" healthy devices", errors.New("no healthy device to allocate"))
		return
	}
	if reg.options.GetPreferredAllocationAvailable {
		k.check(res+" GetPreferredAllocation", checkPreferred(ctx, reg.conn, ids))
	}
	k.check(res+" Allocate "+ids[0], checkAllocate(ctx, reg.conn, res, ids[0]))
	k.check(res+" Allocate unknown ID -> InvalidArgument", checkUnknownID(ctx, reg.conn))
	k.check(res+" unknown method -> Unimplemented", checkUnknownMethod(ctx, reg.conn))
}

func main() {
	dir := flag.String("kubelet-dir", "", "kubelet device-plugin directory")
	want := flag.Int("resources", 1, "number of resources to wait for")
	timeout := flag.Duration("timeout", 30*time.Second, "overall deadline")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: kubelet-go --kubelet-dir DIR [--resources N] [--timeout D]")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	os.Exit(run(ctx, *dir, *want))
}

func run(ctx context.Context, dir string, want int) int {
	sock := filepath.Join(dir, "kubelet.sock")
	os.Remove(sock)
	lis, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Printf("FAIL listen %s: %v\n", sock, err)
		return 1
	}
	k := &kubelet{dir: dir, regs: make(chan *registration, 16)}
	srv := grpc.NewServer()
	srv.RegisterService(&registrationDesc, k)
	go srv.Serve(lis)
	defer srv.Stop()
	for got := 0; got < want; got++ {
		select {
		case reg := <-k.regs:
			k.runChecks(ctx, reg)
			defer reg.conn.Close()
		case <-ctx.Done():
			k.check("registration", fmt.Errorf("%d of %d resource(s) registered in time", got, want))
			return 1
		}
	}
	if k.fails > 0 {
		return 1
	}
	return 0
}
