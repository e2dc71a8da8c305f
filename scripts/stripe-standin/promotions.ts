// Coupons and promotion codes: what the site's sales tools create and what a buyer types on the
// hosted page. A code is refused for the reasons and in the words of Stripe's own page, so the
// site's handling of a discounted (or free) purchase is tested against the real rules.
import { CURRENCIES } from './currencies.ts';
import { allowOnly, ApiError, bool, int, invalid, metadata, missing, noSuch, obj, str, type Metadata, type ParamObject } from './params.ts';
import {
  newestFirst,
  now,
  randomId,
  save,
  track,
  type CheckoutSession,
  type Coupon,
  type PromotionCode,
  type SeedPromotionCode,
  type Standin,
} from './state.ts';

/** What `npm start`'s demo offers at checkout (documented in docs/stripe-standin.md). */
export const DEMO_PROMOTION_CODES: SeedPromotionCode[] = [{ code: 'LAUNCH20', percent_off: 20 }];

/** Makes the seeded codes that do not exist yet (a state file may already hold them). */
export function seedPromotionCodes(sd: Standin): void {
  for (const seed of sd.seedCodes) {
    if (findCode(sd, seed.code)) continue;
    const coupon = createCoupon(sd, {
      ...(seed.percent_off !== undefined ? { percent_off: String(seed.percent_off) } : {}),
      ...(seed.amount_off !== undefined ? { amount_off: String(seed.amount_off), currency: seed.currency ?? 'usd' } : {}),
      name: seed.code,
    });
    createPromotionCode(sd, {
      promotion: { type: 'coupon', coupon: coupon.id },
      code: seed.code,
      ...(seed.max_redemptions !== undefined ? { max_redemptions: String(seed.max_redemptions) } : {}),
    });
  }
  if (sd.seedCodes.length) save(sd);
}

export function createCoupon(sd: Standin, p: ParamObject): Coupon {
  allowOnly(p, ['id', 'percent_off', 'amount_off', 'currency', 'duration', 'duration_in_months', 'max_redemptions', 'redeem_by', 'name', 'metadata', 'expand']);
  const id = str(p, 'id') ?? randomId('', 8);
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(id)) throw invalid('id', `Invalid coupon id: ${id}`);
  if (sd.state.coupons[id]) throw new ApiError(400, 'Coupon already exists.', { code: 'resource_already_exists', param: 'id' });
  const percentText = str(p, 'percent_off');
  const amountOff = int(p, 'amount_off', '', 1) ?? null;
  if ((percentText === undefined) === (amountOff === null)) {
    throw new ApiError(400, 'You must pass exactly one of `percent_off` or `amount_off`.', { code: 'parameter_missing', param: 'percent_off' });
  }
  let percentOff: number | null = null;
  if (percentText !== undefined) {
    if (!/^\d{1,3}(?:\.\d{1,2})?$/.test(percentText) || Number(percentText) <= 0 || Number(percentText) > 100) {
      throw invalid('percent_off', 'percent_off must be a number greater than 0 and at most 100.', 'parameter_invalid_integer');
    }
    percentOff = Number(percentText);
  }
  const currency = str(p, 'currency')?.toLowerCase() ?? null;
  if (amountOff !== null && !currency) throw missing('currency');
  if (currency && !CURRENCIES.has(currency)) throw invalid('currency', `Invalid currency: ${currency}.`);
  const duration = str(p, 'duration') ?? 'once';
  if (!['once', 'forever', 'repeating'].includes(duration))
    throw invalid('duration', `Invalid duration: ${duration}. Must be one of once, forever, or repeating.`);
  const months = int(p, 'duration_in_months', '', 1) ?? null;
  if (duration === 'repeating' && months === null) throw missing('duration_in_months');
  const coupon: Coupon = {
    id,
    object: 'coupon',
    amount_off: amountOff,
    created: now(sd),
    currency: amountOff !== null ? currency : null,
    duration,
    duration_in_months: months,
    livemode: false,
    max_redemptions: int(p, 'max_redemptions', '', 1) ?? null,
    metadata: metadata(p, 'metadata'),
    name: str(p, 'name') ?? null,
    percent_off: percentOff,
    redeem_by: int(p, 'redeem_by', '', 1) ?? null,
    times_redeemed: 0,
    valid: true,
  };
  track(sd, sd.state.coupons, coupon);
  save(sd);
  return coupon;
}

/** Codes match as Stripe matches them: without regard to case. */
const sameCode = (a: string, b: string): boolean => a.toUpperCase() === b.toUpperCase();

/** The promotion code a buyer would type: the newest active one with that code, else the newest. */
function findCode(sd: Standin, code: string): PromotionCode | undefined {
  const wanted = code.trim();
  const codes = newestFirst(sd, sd.state.promotionCodes).filter((pc) => sameCode(pc.code, wanted));
  return codes.find((pc) => pc.active) ?? codes[0];
}

export function createPromotionCode(sd: Standin, p: ParamObject): PromotionCode {
  allowOnly(p, ['promotion', 'code', 'active', 'expires_at', 'max_redemptions', 'metadata', 'expand']);
  const promotion = obj(p, 'promotion');
  if (!promotion) throw missing('promotion');
  allowOnly(promotion, ['type', 'coupon'], 'promotion');
  const type = str(promotion, 'type', 'promotion', true);
  if (type !== 'coupon') throw invalid('promotion[type]', `Invalid promotion[type]: ${type}. Must be coupon.`);
  const couponId = str(promotion, 'coupon', 'promotion', true)!;
  if (!sd.state.coupons[couponId]) throw noSuch('coupon', couponId, 'promotion[coupon]', 400);
  const code = str(p, 'code') ?? randomId('', 8).toUpperCase();
  if (!/^[A-Za-z0-9_-]{1,500}$/.test(code)) throw invalid('code', 'A promotion code may contain only letters, digits, hyphens and underscores.');
  const active = bool(p, 'active') ?? true;
  if (active && Object.values(sd.state.promotionCodes).some((pc) => pc.active && sameCode(pc.code, code))) {
    throw new ApiError(400, `An active promotion code with \`code: ${code}\` already exists.`, { code: 'resource_already_exists', param: 'code' });
  }
  const pc: PromotionCode = {
    id: randomId('promo_1', 24),
    object: 'promotion_code',
    active,
    code,
    created: now(sd),
    customer: null,
    customer_account: null,
    expires_at: int(p, 'expires_at', '', 1) ?? null,
    livemode: false,
    max_redemptions: int(p, 'max_redemptions', '', 1) ?? null,
    metadata: metadata(p, 'metadata'),
    promotion: { type: 'coupon', coupon: couponId },
    restrictions: { first_time_transaction: false, minimum_amount: null, minimum_amount_currency: null },
    times_redeemed: 0,
  };
  track(sd, sd.state.promotionCodes, pc);
  save(sd);
  return pc;
}

export function updatePromotionCode(sd: Standin, id: string, p: ParamObject): PromotionCode {
  allowOnly(p, ['active', 'metadata', 'expand']);
  const pc = sd.state.promotionCodes[id];
  if (!pc) throw noSuch('promotion_code', id, 'id');
  const active = bool(p, 'active');
  if (active !== undefined) pc.active = active;
  if (p.metadata !== undefined) pc.metadata = { ...(pc.metadata as Metadata), ...metadata(p, 'metadata') };
  save(sd);
  return pc;
}

/** The promotion codes a list request asks for. */
export function promotionCodeMatches(pc: PromotionCode, filter: { code?: string; active?: boolean; coupon?: string }): boolean {
  return (
    (!filter.code || sameCode(pc.code, filter.code)) &&
    (filter.active === undefined || pc.active === filter.active) &&
    (!filter.coupon || pc.promotion.coupon === filter.coupon)
  );
}

export function appliedCode(sd: Standin, s: CheckoutSession): PromotionCode | undefined {
  const id = (s.discounts as { promotion_code: string | null }[] | undefined)?.[0]?.promotion_code;
  return id ? sd.state.promotionCodes[id] : undefined;
}

/** Whether `code` is what is already applied to the session. */
export const isApplied = (sd: Standin, s: CheckoutSession, code: string): boolean => {
  const applied = appliedCode(sd, s);
  return applied !== undefined && sameCode(applied.code, code);
};

/** Why a code cannot be used on this session now, in the words of Stripe's page; throws. */
export function checkRedeemable(sd: Standin, pc: PromotionCode, s: CheckoutSession): Coupon {
  const refuse = (message: string) => new ApiError(400, message, { code: 'promotion_code_invalid', param: 'promotion_code' });
  const coupon = sd.state.coupons[pc.promotion.coupon];
  const t = now(sd);
  if (!pc.active || !coupon) throw refuse('This code is invalid.');
  if ((pc.expires_at !== null && t >= pc.expires_at) || (coupon.redeem_by !== null && t >= coupon.redeem_by)) throw refuse('This code has expired.');
  if ((pc.max_redemptions !== null && pc.times_redeemed >= pc.max_redemptions) || !coupon.valid) throw refuse('This code is no longer available.');
  if (coupon.amount_off !== null && coupon.currency !== s.currency) throw refuse(`This code is not valid for purchases in ${s.currency.toUpperCase()}.`);
  return coupon;
}

/** What Stripe's "Apply" does on its hosted page: one code per session; a new one replaces the old. */
export function applyCode(sd: Standin, s: CheckoutSession, code: string): void {
  if (s.status !== 'open') throw new ApiError(400, `This Checkout Session is ${s.status}.`, { code: 'checkout_session_not_open' });
  if (s.allow_promotion_codes !== true) {
    throw new ApiError(400, 'This Checkout Session does not accept promotion codes (it was created without allow_promotion_codes).', {
      code: 'promotion_codes_not_allowed',
      param: 'promotion_code',
    });
  }
  const pc = findCode(sd, code);
  if (!pc) throw new ApiError(400, 'This code is invalid.', { code: 'promotion_code_invalid', param: 'promotion_code' });
  const coupon = checkRedeemable(sd, pc, s);
  const subtotal = s.amount_subtotal;
  const discount = coupon.percent_off !== null ? Math.round((subtotal * coupon.percent_off) / 100) : Math.min(coupon.amount_off ?? 0, subtotal);
  s.discounts = [{ coupon: coupon.id, promotion_code: pc.id }];
  s.amount_total = subtotal - discount;
  s.total_details = { amount_discount: discount, amount_shipping: 0, amount_tax: 0 };
  // One line item is what this site sells; with several, Stripe spreads the discount likewise.
  let left = discount;
  const items = sd.state.lineItems[s.id] ?? [];
  items.forEach((li, index) => {
    const itemSubtotal = li.amount_subtotal as number;
    const share = index === items.length - 1 ? left : Math.round((discount * itemSubtotal) / Math.max(1, subtotal));
    left -= share;
    li.amount_discount = share;
    li.amount_total = itemSubtotal - share;
  });
  save(sd);
}

/** Counts a use of the code and of its coupon; a coupon used up is no longer valid. */
export function redeem(sd: Standin, pc: PromotionCode): void {
  pc.times_redeemed += 1;
  const coupon = sd.state.coupons[pc.promotion.coupon];
  if (coupon) {
    coupon.times_redeemed += 1;
    if (coupon.max_redemptions !== null && coupon.times_redeemed >= coupon.max_redemptions) coupon.valid = false;
  }
}
