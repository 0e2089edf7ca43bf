/**
 * The ideal (band-limited) shift of protocol §1 "Fractional shifts", circular mode:
 * multiply the 2-D discrete Fourier transform of the image by the offset's phase ramp,
 * transform back and keep the real part. Keeping the real part is what makes the result
 * real for even sizes: it is the same as multiplying the Nyquist bin by the cosine of its
 * phase only (the ramp and its conjugate mirror averaged).
 *
 * FFTs of any length: iterative radix-2 for powers of two, Bluestein's chirp-z method
 * (through a power-of-two FFT) for other lengths. Written for this project.
 */

/** An in-place complex FFT of one length (unnormalised forward, inverse scaled by 1/n). */
export class Fft {
  readonly n: number;
  private readonly pow2: Radix2 | null;
  private readonly bluestein: Bluestein | null;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`FFT length must be a positive integer, got ${n}`);
    this.n = n;
    const isPow2 = (n & (n - 1)) === 0;
    this.pow2 = isPow2 ? new Radix2(n) : null;
    this.bluestein = isPow2 ? null : new Bluestein(n);
  }

  /** Transforms (re, im) in place; `inverse` uses e^{+2πikn/N} and divides by N. */
  transform(re: Float64Array, im: Float64Array, inverse: boolean): void {
    if (this.pow2) this.pow2.transform(re, im, inverse);
    else this.bluestein!.transform(re, im, inverse);
    if (inverse) {
      const s = 1 / this.n;
      for (let i = 0; i < this.n; i++) {
        re[i] *= s;
        im[i] *= s;
      }
    }
  }
}

class Radix2 {
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly rev: Uint32Array;

  constructor(readonly n: number) {
    this.cos = new Float64Array(n / 2);
    this.sin = new Float64Array(n / 2);
    for (let i = 0; i < n / 2; i++) {
      this.cos[i] = Math.cos((2 * Math.PI * i) / n);
      this.sin[i] = Math.sin((2 * Math.PI * i) / n);
    }
    this.rev = new Uint32Array(n);
    const bits = Math.round(Math.log2(n));
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) if (i & (1 << b)) r |= 1 << (bits - 1 - b);
      this.rev[i] = r;
    }
  }

  /** Unnormalised transform in place (sign −1 forward, +1 inverse). */
  transform(re: Float64Array, im: Float64Array, inverse: boolean): void {
    const n = this.n;
    for (let i = 0; i < n; i++) {
      const j = this.rev[i];
      if (j > i) {
        let t = re[i];
        re[i] = re[j];
        re[j] = t;
        t = im[i];
        im[i] = im[j];
        im[j] = t;
      }
    }
    const sign = inverse ? 1 : -1;
    for (let size = 2; size <= n; size *= 2) {
      const half = size / 2;
      const step = n / size;
      for (let start = 0; start < n; start += size) {
        for (let k = 0; k < half; k++) {
          const c = this.cos[k * step];
          const s = sign * this.sin[k * step];
          const a = start + k;
          const b = a + half;
          const tr = re[b] * c - im[b] * s;
          const ti = re[b] * s + im[b] * c;
          re[b] = re[a] - tr;
          im[b] = im[a] - ti;
          re[a] += tr;
          im[a] += ti;
        }
      }
    }
  }
}

class Bluestein {
  private readonly m: number;
  private readonly inner: Radix2;
  /** The chirp w_k = e^{−iπk²/n}. */
  private readonly chirpRe: Float64Array;
  private readonly chirpIm: Float64Array;
  /** FFT of the conjugate chirp, wrapped to length m, for the forward and the inverse sign. */
  private readonly kernelRe: Float64Array;
  private readonly kernelIm: Float64Array;
  private readonly bufRe: Float64Array;
  private readonly bufIm: Float64Array;

  constructor(readonly n: number) {
    let m = 1;
    while (m < 2 * n - 1) m *= 2;
    this.m = m;
    this.inner = new Radix2(m);
    this.chirpRe = new Float64Array(n);
    this.chirpIm = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const a = (Math.PI * ((k * k) % (2 * n))) / n; // k² mod 2n keeps the angle accurate
      this.chirpRe[k] = Math.cos(a);
      this.chirpIm[k] = -Math.sin(a);
    }
    this.kernelRe = new Float64Array(m);
    this.kernelIm = new Float64Array(m);
    for (let k = 0; k < n; k++) {
      this.kernelRe[k] = this.chirpRe[k];
      this.kernelIm[k] = -this.chirpIm[k];
      if (k > 0) {
        this.kernelRe[m - k] = this.chirpRe[k];
        this.kernelIm[m - k] = -this.chirpIm[k];
      }
    }
    this.inner.transform(this.kernelRe, this.kernelIm, false);
    this.bufRe = new Float64Array(m);
    this.bufIm = new Float64Array(m);
  }

  /** Unnormalised transform in place; the inverse is the forward transform of the conjugate, conjugated. */
  transform(re: Float64Array, im: Float64Array, inverse: boolean): void {
    const { n, m, bufRe, bufIm, chirpRe, chirpIm } = this;
    const conj = inverse ? -1 : 1;
    bufRe.fill(0);
    bufIm.fill(0);
    for (let k = 0; k < n; k++) {
      const xr = re[k];
      const xi = conj * im[k];
      bufRe[k] = xr * chirpRe[k] - xi * chirpIm[k];
      bufIm[k] = xr * chirpIm[k] + xi * chirpRe[k];
    }
    this.inner.transform(bufRe, bufIm, false);
    for (let k = 0; k < m; k++) {
      const ar = bufRe[k],
        ai = bufIm[k];
      const br = this.kernelRe[k],
        bi = this.kernelIm[k];
      bufRe[k] = ar * br - ai * bi;
      bufIm[k] = ar * bi + ai * br;
    }
    this.inner.transform(bufRe, bufIm, true);
    const s = 1 / m;
    for (let k = 0; k < n; k++) {
      const yr = bufRe[k] * s,
        yi = bufIm[k] * s;
      re[k] = yr * chirpRe[k] - yi * chirpIm[k];
      im[k] = conj * (yr * chirpIm[k] + yi * chirpRe[k]);
    }
  }
}

/** Signed frequency of bin k of n in cycles per sample: k/n below n/2, (k − n)/n above, +1/2 at the Nyquist bin. */
function frequency(k: number, n: number): number {
  return 2 * k <= n ? k / n : (k - n) / n;
}

/**
 * The spectrum of one planar image (channels × h × w, float) computed once, from which
 * `shifted(dx, dy)` gives the ideal circular shift by any real offset: content moves by
 * +(dx, dy) with wrap-around, result = real part of IDFT2(DFT2(x) · e^{−2πi(k·dx/w + l·dy/h)}).
 */
export class FourierShifter {
  private readonly re: Float64Array[];
  private readonly im: Float64Array[];
  private readonly fftX: Fft;
  private readonly fftY: Fft;

  /** `planes`: one Float64Array of w·h per channel (row-major). */
  constructor(
    planes: readonly Float64Array[],
    readonly width: number,
    readonly height: number,
  ) {
    this.fftX = new Fft(width);
    this.fftY = new Fft(height);
    this.re = planes.map((p) => Float64Array.from(p));
    this.im = planes.map(() => new Float64Array(width * height));
    for (let c = 0; c < planes.length; c++) this.transform2d(this.re[c], this.im[c], false);
  }

  /** The planes shifted by (dx, dy) px (real part), one Float64Array per channel. */
  shifted(dx: number, dy: number): Float64Array[] {
    const { width: w, height: h } = this;
    const rampXr = new Float64Array(w),
      rampXi = new Float64Array(w);
    const rampYr = new Float64Array(h),
      rampYi = new Float64Array(h);
    for (let k = 0; k < w; k++) {
      const a = -2 * Math.PI * frequency(k, w) * dx;
      rampXr[k] = Math.cos(a);
      rampXi[k] = Math.sin(a);
    }
    for (let l = 0; l < h; l++) {
      const a = -2 * Math.PI * frequency(l, h) * dy;
      rampYr[l] = Math.cos(a);
      rampYi[l] = Math.sin(a);
    }
    return this.re.map((sr, c) => {
      const si = this.im[c];
      const re = new Float64Array(w * h),
        im = new Float64Array(w * h);
      for (let l = 0; l < h; l++) {
        for (let k = 0; k < w; k++) {
          const i = l * w + k;
          const pr = rampXr[k] * rampYr[l] - rampXi[k] * rampYi[l];
          const pi = rampXr[k] * rampYi[l] + rampXi[k] * rampYr[l];
          re[i] = sr[i] * pr - si[i] * pi;
          im[i] = sr[i] * pi + si[i] * pr;
        }
      }
      this.transform2d(re, im, true);
      return re;
    });
  }

  /** 2-D transform in place: rows, then columns. */
  private transform2d(re: Float64Array, im: Float64Array, inverse: boolean): void {
    const { width: w, height: h } = this;
    const rowRe = new Float64Array(w),
      rowIm = new Float64Array(w);
    for (let y = 0; y < h; y++) {
      const o = y * w;
      rowRe.set(re.subarray(o, o + w));
      rowIm.set(im.subarray(o, o + w));
      this.fftX.transform(rowRe, rowIm, inverse);
      re.set(rowRe, o);
      im.set(rowIm, o);
    }
    const colRe = new Float64Array(h),
      colIm = new Float64Array(h);
    for (let x = 0; x < w; x++) {
      for (let y = 0; y < h; y++) {
        colRe[y] = re[y * w + x];
        colIm[y] = im[y * w + x];
      }
      this.fftY.transform(colRe, colIm, inverse);
      for (let y = 0; y < h; y++) {
        re[y * w + x] = colRe[y];
        im[y * w + x] = colIm[y];
      }
    }
  }
}
