/**
 * Device names ({@code cpu}, {@code cuda:N}) and the worker's device leases: each training or
 * evaluation attempt holds its group of devices from {@link
 * io.flipflow.activities.device.DevicePool} for as long as it runs, and returns it however it ends.
 *
 * <p>May import: DJL's device and engine classes, nothing else of flipflow's.
 */
package io.flipflow.activities.device;
