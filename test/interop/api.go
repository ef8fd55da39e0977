package main

// The v1beta1 device-plugin messages, declared by hand with protobuf struct
// tags (same package, names and field numbers as the kubelet's api.proto),
// so that github.com/golang/protobuf marshals them without generated code.

import "fmt"

type Empty struct{}

func (m *Empty) Reset()         { *m = Empty{} }
func (m *Empty) String() string { return "Empty{}" }
func (*Empty) ProtoMessage()    {}

type DevicePluginOptions struct {
	PreStartRequired                bool `protobuf:"varint,1,opt,name=pre_start_required,json=preStartRequired,proto3"`
	GetPreferredAllocationAvailable bool `protobuf:"varint,2,opt,name=get_preferred_allocation_available,json=getPreferredAllocationAvailable,proto3"`
}

func (m *DevicePluginOptions) Reset()         { *m = DevicePluginOptions{} }
func (m *DevicePluginOptions) String() string { return fmt.Sprintf("%+v", *m) }
func (*DevicePluginOptions) ProtoMessage()    {}

type RegisterRequest struct {
	Version      string               `protobuf:"bytes,1,opt,name=version,proto3"`
	Endpoint     string               `protobuf:"bytes,2,opt,name=endpoint,proto3"`
	ResourceName string               `protobuf:"bytes,3,opt,name=resource_name,json=resourceName,proto3"`
	Options      *DevicePluginOptions `protobuf:"bytes,4,opt,name=options,proto3"`
}

func (m *RegisterRequest) Reset()         { *m = RegisterRequest{} }
func (m *RegisterRequest) String() string { return fmt.Sprintf("%+v", *m) }
func (*RegisterRequest) ProtoMessage()    {}

type NUMANode struct {
	ID int64 `protobuf:"varint,1,opt,name=ID,proto3"`
}

func (m *NUMANode) Reset()         { *m = NUMANode{} }
func (m *NUMANode) String() string { return fmt.Sprintf("%+v", *m) }
func (*NUMANode) ProtoMessage()    {}

type TopologyInfo struct {
	Nodes []*NUMANode `protobuf:"bytes,1,rep,name=nodes,proto3"`
}

func (m *TopologyInfo) Reset()         { *m = TopologyInfo{} }
func (m *TopologyInfo) String() string { return fmt.Sprintf("%+v", *m) }
func (*TopologyInfo) ProtoMessage()    {}

type Device struct {
	ID       string        `protobuf:"bytes,1,opt,name=ID,proto3"`
	Health   string        `protobuf:"bytes,2,opt,name=health,proto3"`
	Topology *TopologyInfo `protobuf:"bytes,3,opt,name=topology,proto3"`
}

func (m *Device) Reset()         { *m = Device{} }
func (m *Device) String() string { return fmt.Sprintf("%+v", *m) }
func (*Device) ProtoMessage()    {}

type ListAndWatchResponse struct {
	Devices []*Device `protobuf:"bytes,1,rep,name=devices,proto3"`
}

func (m *ListAndWatchResponse) Reset()         { *m = ListAndWatchResponse{} }
func (m *ListAndWatchResponse) String() string { return fmt.Sprintf("%+v", *m) }
func (*ListAndWatchResponse) ProtoMessage()    {}

type ContainerPreferredAllocationRequest struct {
	AvailableDeviceIDs   []string `protobuf:"bytes,1,rep,name=available_deviceIDs,json=availableDeviceIDs,proto3"`
	MustIncludeDeviceIDs []string `protobuf:"bytes,2,rep,name=must_include_deviceIDs,json=mustIncludeDeviceIDs,proto3"`
	AllocationSize       int32    `protobuf:"varint,3,opt,name=allocation_size,json=allocationSize,proto3"`
}

func (m *ContainerPreferredAllocationRequest) Reset() {
	*m = ContainerPreferredAllocationRequest{}
}
func (m *ContainerPreferredAllocationRequest) String() string { return fmt.Sprintf("%+v", *m) }
func (*ContainerPreferredAllocationRequest) ProtoMessage()    {}

type PreferredAllocationRequest struct {
	ContainerRequests []*ContainerPreferredAllocationRequest `protobuf:"bytes,1,rep,name=container_requests,json=containerRequests,proto3"`
}

func (m *PreferredAllocationRequest) Reset()         { *m = PreferredAllocationRequest{} }
func (m *PreferredAllocationRequest) String() string { return fmt.Sprintf("%+v", *m) }
func (*PreferredAllocationRequest) ProtoMessage()    {}

type ContainerPreferredAllocationResponse struct {
	DeviceIDs []string `protobuf:"bytes,1,rep,name=deviceIDs,proto3"`
}

func (m *ContainerPreferredAllocationResponse) Reset() {
	*m = ContainerPreferredAllocationResponse{}
}
func (m *ContainerPreferredAllocationResponse) String() string { return fmt.Sprintf("%+v", *m) }
func (*ContainerPreferredAllocationResponse) ProtoMessage()    {}

type PreferredAllocationResponse struct {
	ContainerResponses []*ContainerPreferredAllocationResponse `protobuf:"bytes,1,rep,name=container_responses,json=containerResponses,proto3"`
}

func (m *PreferredAllocationResponse) Reset()         { *m = PreferredAllocationResponse{} }
func (m *PreferredAllocationResponse) String() string { return fmt.Sprintf("%+v", *m) }
func (*PreferredAllocationResponse) ProtoMessage()    {}

type ContainerAllocateRequest struct {
	DevicesIDs []string `protobuf:"bytes,1,rep,name=devices_ids,json=devicesIds,proto3"`
}

func (m *ContainerAllocateRequest) Reset()         { *m = ContainerAllocateRequest{} }
func (m *ContainerAllocateRequest) String() string { return fmt.Sprintf("%+v", *m) }
func (*ContainerAllocateRequest) ProtoMessage()    {}

type AllocateRequest struct {
	ContainerRequests []*ContainerAllocateRequest `protobuf:"bytes,1,rep,name=container_requests,json=containerRequests,proto3"`
}

func (m *AllocateRequest) Reset()         { *m = AllocateRequest{} }
func (m *AllocateRequest) String() string { return fmt.Sprintf("%+v", *m) }
func (*AllocateRequest) ProtoMessage()    {}

type Mount struct {
	ContainerPath string `protobuf:"bytes,1,opt,name=container_path,json=containerPath,proto3"`
	HostPath      string `protobuf:"bytes,2,opt,name=host_path,json=hostPath,proto3"`
	ReadOnly      bool   `protobuf:"varint,3,opt,name=read_only,json=readOnly,proto3"`
}

func (m *Mount) Reset()         { *m = Mount{} }
func (m *Mount) String() string { return fmt.Sprintf("%+v", *m) }
func (*Mount) ProtoMessage()    {}

type DeviceSpec struct {
	ContainerPath string `protobuf:"bytes,1,opt,name=container_path,json=containerPath,proto3"`
	HostPath      string `protobuf:"bytes,2,opt,name=host_path,json=hostPath,proto3"`
	Permissions   string `protobuf:"bytes,3,opt,name=permissions,proto3"`
}

func (m *DeviceSpec) Reset()         { *m = DeviceSpec{} }
func (m *DeviceSpec) String() string { return fmt.Sprintf("%+v", *m) }
func (*DeviceSpec) ProtoMessage()    {}

type CDIDevice struct {
	Name string `protobuf:"bytes,1,opt,name=name,proto3"`
}

func (m *CDIDevice) Reset()         { *m = CDIDevice{} }
func (m *CDIDevice) String() string { return fmt.Sprintf("%+v", *m) }
func (*CDIDevice) ProtoMessage()    {}

type ContainerAllocateResponse struct {
	Envs        map[string]string `protobuf:"bytes,1,rep,name=envs,proto3" protobuf_key:"bytes,1,opt,name=key,proto3" protobuf_val:"bytes,2,opt,name=value,proto3"`
	Mounts      []*Mount          `protobuf:"bytes,2,rep,name=mounts,proto3"`
	Devices     []*DeviceSpec     `protobuf:"bytes,3,rep,name=devices,proto3"`
	Annotations map[string]string `protobuf:"bytes,4,rep,name=annotations,proto3" protobuf_key:"bytes,1,opt,name=key,proto3" protobuf_val:"bytes,2,opt,name=value,proto3"`
	CDIDevices  []*CDIDevice      `protobuf:"bytes,5,rep,name=cdi_devices,json=cdiDevices,proto3"`
}

func (m *ContainerAllocateResponse) Reset()         { *m = ContainerAllocateResponse{} }
func (m *ContainerAllocateResponse) String() string { return fmt.Sprintf("%+v", *m) }
func (*ContainerAllocateResponse) ProtoMessage()    {}

type AllocateResponse struct {
	ContainerResponses []*ContainerAllocateResponse `protobuf:"bytes,1,rep,name=container_responses,json=containerResponses,proto3"`
}

func (m *AllocateResponse) Reset()         { *m = AllocateResponse{} }
func (m *AllocateResponse) String() string { return fmt.Sprintf("%+v", *m) }
func (*AllocateResponse) ProtoMessage()    {}
