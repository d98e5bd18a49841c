/**
 * The FEEDBACK algorithm's PID controller (Kamailio pipelimit do_update_load): once per timer
 * interval it takes the CPU load (0..1) and moves the drop rate so the load drifts toward the
 * setpoint (the FEEDBACK pipes' limit, in percent). Defaults kp 0, ki -25, kd 0 as Kamailio.
 */
export class FeedbackController {
  kp = 0;
  ki = -25;
  kd = 0;
  /** Desired load, 0..1 (FEEDBACK limit / 100). */
  setpoint = 0;
  /** Last load fed in (0..1). */
  load = 0;
  /** Current drop rate (0 = none; compared with a 0..99 permutation). */
  dropRate = 0;
  private intErr = 0;
  private lastErr = 0;

  /** Feeds one load sample; returns the new drop rate. */
  update(load: number): number {
    this.load = !Number.isFinite(load) || load < 0 ? 0 : load > 1 ? 1 : load;
    const err = this.setpoint - this.load;
    const difErr = err - this.lastErr;
    // low loads for a long time must not wind the integral up (Kamailio's comment: they cannot be
    // compensated by negative drop rates)
    if (this.intErr < 0 || err < 0) this.intErr += err;
    const output = this.kp * err + this.ki * this.intErr + this.kd * difErr;
    this.lastErr = err;
    this.dropRate = output > 0 ? Math.trunc(output) : 0;
    return this.dropRate;
  }
}
