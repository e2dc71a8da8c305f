// Lesson path parsing, as a table: the request targets the gate serves, and every other shape,
// encoded or not, that must reach no query.
import { describe, expect, test } from 'vitest';
import { parseGatePath, type GatePath } from './lesson-gate.ts';

const ACCEPTED: [string, GatePath][] = [
  ['/courses/python/why-python', { kind: 'lesson', course: 'python', lesson: 'why-python' }],
  ['/courses/python/why-python/', { kind: 'lesson', course: 'python', lesson: 'why-python' }],
  ['/courses/python/why-python/?utm_source=blog', { kind: 'lesson', course: 'python', lesson: 'why-python' }],
  ['/courses/python-3/01-intro', { kind: 'lesson', course: 'python-3', lesson: '01-intro' }],
  ['/courses/python/media/diagram.svg', { kind: 'media', course: 'python', name: 'diagram.svg' }],
  ['/courses/python/media/Figure_2.v1.png?v=3', { kind: 'media', course: 'python', name: 'Figure_2.v1.png' }],
  // `media` is also a lesson's slug when nothing follows it.
  ['/courses/python/media', { kind: 'lesson', course: 'python', lesson: 'media' }],
  ['/courses/python/media/', { kind: 'lesson', course: 'python', lesson: 'media' }],
];

const REFUSED = [
  '/',
  '/courses/',
  '/courses/python',
  '/courses/python/',
  '/courses//why-python',
  '/courses/python//',
  '/courses/python/why-python//',
  '/courses/Python/why-python',
  '/courses/python/Why-Python',
  '/courses/-python/x',
  '/courses/python/why_python',
  '/courses/python/why.python',
  '/courses/%2e%2e/why-python',
  '/courses/python/%2e%2e',
  '/courses/python/..',
  '/courses/python/.',
  '/courses/python/why-python%2F',
  '/courses/python\\why-python',
  '/courses/python/why-python/extra',
  '/courses/python/media/.hidden',
  '/courses/python/media/a/b.png',
  '/courses/python/media/..%2Fsecret',
  '/courses/python/media/a..png',
  '/courses/python/media/%00.png',
  `/courses/python/${'a'.repeat(81)}`,
  `/courses/python/media/${'a'.repeat(201)}`,
  `/courses/${'a'.repeat(400)}/x`,
  '/COURSES/python/why-python',
  'courses/python/why-python',
  '//courses/python/why-python',
];

describe('parseGatePath', () => {
  test.each(ACCEPTED)('%s', (target, expected) => {
    expect(parseGatePath(target)).toEqual(expected);
  });

  test.each(REFUSED.map((target) => [target]))('refuses %s', (target) => {
    expect(parseGatePath(target)).toBeNull();
  });
});
