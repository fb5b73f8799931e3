// Stage 2: the same bytes are already on disk. The version is adopted; nothing is written or reloaded.
import type {Change} from './context.js'

export function unchanged(change: Change): boolean {
  return change.old !== undefined && change.old.bytes.equals(change.content)
}
