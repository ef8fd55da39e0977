#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "test/integration/fresh_call.h"
#include "test/kubelet-sim/ksim-priv.h"

#define OPTIONS "/v1beta1.DevicePlugin/GetDevicePluginOptions"

int
fresh_call(const char *dir, const char *socket, int timeout_ms)
{
    /* Its own subchannel: a shared one would reuse the simulator's
     * connection to the same socket, and prove nothing about accepting. */
    grpc_arg arg = {.type = GRPC_ARG_INTEGER,
                    .key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
                    .value.integer = 1};
    grpc_channel_args args = {.num_args = 1, .args = &arg};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    ProtobufCMessage *resp = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    char *target = NULL, *msg = NULL;
    grpc_channel *ch;
    int r;

    if (asprintf(&target, "unix:%s/%s", dir, socket) < 0) {
        grpc_channel_credentials_release(creds);
        return -ENOMEM;
    }
    ch = grpc_channel_create(target, creds, &args);
    grpc_channel_credentials_release(creds);
    r = ksim_unary(ch, OPTIONS, NULL, &v1beta1__device_plugin_options__descriptor, timeout_ms,
                   &resp, &status, &msg);
    if (r == 0 && status != GRPC_STATUS_OK)
        r = -EIO;
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    free(msg);
    free(target);
    grpc_channel_destroy(ch);
    return r;
}
