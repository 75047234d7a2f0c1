import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findBlockedTerm, foldForMatching, skeletonForMatching } from '../../../src/live/blocked-terms.js';

describe('blocked terms', () => {
  it('removes invisible characters before matching, so they do not split a term', () => {
    for (const hidden of [
      'sc\u200bam',
      'sc\u200dam',
      's\u00adcam',
      'sc\u2060am',
      's\u200ccam',
      'sca\ufeffm',
    ]) {
      assert.equal(findBlockedTerm(`a ${hidden} here`, ['scam']), 'scam', JSON.stringify(hidden));
    }
  });

  it('still treats visible separators as word breaks', () => {
    assert.equal(foldForMatching('sc am'), 'sc am');
    assert.equal(findBlockedTerm('sc-am', ['scam']), undefined);
  });

  it('folds look-alike letters of other scripts to the letters they imitate', () => {
    for (const lookalike of ['ѕсаm', 'scаm', 'ѕcam', 'ЅСАМ', '𝐬𝐜𝐚𝐦']) {
      assert.equal(findBlockedTerm(lookalike, ['scam']), 'scam', lookalike);
    }
    assert.equal(skeletonForMatching('ѕсаm'), skeletonForMatching('scam'));
    assert.equal(findBlockedTerm('а ѕсаm', ['scam']), 'scam', 'a term among Cyrillic words');
  });

  it('matches whole words only', () => {
    assert.equal(findBlockedTerm('first class passage', ['ass']), undefined);
    assert.equal(findBlockedTerm('you ASS', ['ass']), 'ass');
  });
});
