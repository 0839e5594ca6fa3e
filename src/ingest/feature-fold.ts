import { isInteraction, type UserEvent } from '../domain/events';
import { applyItemEvents, applyUserEvents } from '../domain/features';
import { itemPk, realtimeSk, userPk, type ItemFeatureRow, type RowKey, type UserFeatureRow } from '../stream/ports';
import { distinctKeys, foldSettingAside, foldWatermarked, type Positioned } from '../stream/watermarked-rows';
import { unstorableReason } from './storable';

/**
 * A record's real-time user row and item row, each owned by the record's shard. An impression has none: it is
 * not an interaction, so it is neither read for, folded into nor creates a feature row (attribution counts it).
 */
const userKey = (p: Positioned<UserEvent>): RowKey[] => (isInteraction(p.value) ? [{ pk: userPk(p.value.userId), sk: realtimeSk(p.shardId) }] : []);
const itemKey = (p: Positioned<UserEvent>): RowKey[] => (isInteraction(p.value) ? [{ pk: itemPk(p.value.itemId), sk: realtimeSk(p.shardId) }] : []);

/** The user and item rows the events touch, to read before folding. */
export const featureRowKeys = (events: readonly Positioned<UserEvent>[]): RowKey[] => [...distinctKeys(events, userKey), ...distinctKeys(events, itemKey)];

export interface FoldedFeatures {
  /** User rows, then item rows, to write. */
  rows: (UserFeatureRow | ItemFeatureRow)[];
  /** Per written row, the records it carries (they fail if it cannot be written). */
  recordsOfRow: Map<string, string[]>;
}

/**
 * Folds events into the real-time user and item rows (`current`: the rows as read). A record whose addition
 * would make one of its rows unstorable (a number DynamoDB cannot hold, a row over the size limit) is set
 * aside with the reason (added to `setAside`) and left out of both, so the user and item rows agree; its rows
 * still move their watermarks past it, so a redelivery decides the same.
 */
export function foldFeatures(events: readonly Positioned<UserEvent>[], current: ReadonlyMap<string, unknown>, recentLimit: number, setAside: Map<string, string>): FoldedFeatures {
  const check = (row: UserFeatureRow | ItemFeatureRow) => unstorableReason(row);
  const fold = (skip: ReadonlySet<string>) => {
    const users = foldWatermarked<UserEvent, UserFeatureRow>(
      events,
      userKey,
      current,
      (prev, values, key, wm, shardId) => ({ pk: key.pk, sk: key.sk, entity: 'user', shardId, wm, features: applyUserEvents(prev?.features, values, recentLimit) }),
      { check, skip },
    );
    const items = foldWatermarked<UserEvent, ItemFeatureRow>(
      events,
      itemKey,
      current,
      (prev, values, key, wm, shardId) => ({ pk: key.pk, sk: key.sk, entity: 'item', shardId, wm, features: applyItemEvents(prev?.features, values) }),
      { check, skip },
    );
    return { users, items, setAside: new Map([...users.setAside, ...items.setAside]) };
  };
  const { users, items } = foldSettingAside(fold, setAside);
  return { rows: [...users.rows, ...items.rows], recordsOfRow: new Map([...users.recordsOfRow, ...items.recordsOfRow]) };
}
