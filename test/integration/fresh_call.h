#pragma once

/* GetDevicePluginOptions on a new connection (a channel with its own
 * subchannel, so no connection of another channel is reused) to
 * <dir>/<socket>. 0 when it answered OK within timeout_ms, else -errno
 * (-EIO: another status). */
int fresh_call(const char *dir, const char *socket, int timeout_ms);
