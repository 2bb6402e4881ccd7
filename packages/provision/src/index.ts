// @cuttle/provision: host.yaml -> plan (per resource) -> apply through the LXD REST API and owned files -> verify.
export * from './errors.js';
export * from './host-config/load-host-config.js';
export * from './host-config/schema.js';
export * from './lxd/client.js';
export * from './lxd/exec.js';
export * from './lxd/socket-path.js';
export * from './render/apt-pin.js';
export * from './render/cloud-init.js';
export * from './render/nftables.js';
export * from './render/proxy-url.js';
export * from './render/systemd-unit.js';
export * from './resources/apply.js';
export * from './resources/facts.js';
export * from './resources/plan-host.js';
export type { KeyChange, LxdBody, PlanAction, ResourcePlan, Step } from './resources/types.js';
export * from './verify/check.js';
export * from './verify/host-checks.js';
export * from './verify/instance-checks.js';
